package metrics

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Point is one InfluxDB point. Tags with empty values are left out (the
// line protocol has no empty tag value); fields are int64, int, float64,
// bool or string.
type Point struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]any
	Time        time.Time
}

var (
	measurementEscaper = strings.NewReplacer(",", `\,`, " ", `\ `, "\n", `\n`)
	keyEscaper         = strings.NewReplacer(",", `\,`, "=", `\=`, " ", `\ `, "\n", `\n`)
	stringEscaper      = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

// Line encodes p as one line of the line protocol (without the newline) at
// precision ("ns", "u", "ms" or "s"). Tags and fields are sorted by key.
func (p Point) Line(precision string) (string, error) {
	if p.Measurement == "" {
		return "", fmt.Errorf("point without a measurement")
	}
	var b strings.Builder
	b.WriteString(measurementEscaper.Replace(p.Measurement))
	for _, k := range sortedKeys(p.Tags) {
		v := p.Tags[k]
		if v == "" || k == "" {
			continue
		}
		b.WriteByte(',')
		b.WriteString(keyEscaper.Replace(k))
		b.WriteByte('=')
		b.WriteString(keyEscaper.Replace(v))
	}
	n := 0
	for _, k := range sortedKeys(p.Fields) {
		var s string
		switch v := p.Fields[k].(type) {
		case int:
			s = strconv.Itoa(v) + "i"
		case int64:
			s = strconv.FormatInt(v, 10) + "i"
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue // no such value in the line protocol
			}
			s = strconv.FormatFloat(v, 'f', -1, 64)
			if !strings.ContainsAny(s, ".e") {
				s += ".0" // stays a float field, whatever the first value was
			}
		case bool:
			s = strconv.FormatBool(v)
		case string:
			s = `"` + stringEscaper.Replace(v) + `"`
		default:
			return "", fmt.Errorf("point %s: field %s has type %T", p.Measurement, k, v)
		}
		if k == "" {
			continue
		}
		if n == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		n++
		b.WriteString(keyEscaper.Replace(k))
		b.WriteByte('=')
		b.WriteString(s)
	}
	if n == 0 {
		return "", fmt.Errorf("point %s has no field", p.Measurement)
	}
	if !p.Time.IsZero() {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(timestamp(p.Time, precision), 10))
	}
	return b.String(), nil
}

// timestamp is t in units of precision.
func timestamp(t time.Time, precision string) int64 {
	switch precision {
	case "s":
		return t.Unix()
	case "ms":
		return t.UnixMilli()
	case "u":
		return t.UnixMicro()
	}
	return t.UnixNano()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
