package config

import (
	"fmt"

	"rb_module_rustack/internal/retention"
)

// checkWithin validates keep_within.
func checkWithin(s string) error {
	if _, err := retention.ParseDuration(s); err != nil {
		return fmt.Errorf("%q is not a duration such as 14d, 2w, 6m, 1y or 1y6m: %v", s, err)
	}
	return nil
}

// Retention is the retention policy of the configuration; Empty when no
// keep_* key is set.
func (c *Config) Retention() (retention.Policy, error) {
	p := retention.Policy{Last: c.KeepLast, Hourly: c.KeepHourly, Daily: c.KeepDaily, Weekly: c.KeepWeekly,
		Monthly: c.KeepMonthly, Yearly: c.KeepYearly}
	if c.KeepWithin != "" {
		d, err := retention.ParseDuration(c.KeepWithin)
		if err != nil {
			return p, fmt.Errorf("keep_within: %w", err)
		}
		p.Within = d
	}
	return p, nil
}
