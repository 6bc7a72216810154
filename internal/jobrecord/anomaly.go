package jobrecord

import (
	"fmt"
	"sort"
)

// Anomaly says why a backup looks like a mass encryption of the guest's
// data: its new incompressible share is far above the VM's usual one.
type Anomaly struct {
	Share    float64 `json:"share"`    // this backup's new incompressible share (0..1)
	Baseline float64 `json:"baseline"` // median share of the VM's earlier backups of the same type
	Samples  int     `json:"samples"`  // how many earlier backups the median is of
	Factor   int     `json:"factor"`   // anomaly_factor
	Message  string  `json:"message"`
}

// baselineSamples is how many earlier backups the baseline is the median of.
const baselineSamples = 10

// Judge compares cur (a successful backup) with the VM's earlier
// successful backups of the same made type in history. It returns an
// Anomaly when cur's share is at least minPercent % and more than factor
// times their median; nil when it is not, when factor is 0, or when there
// is no earlier backup of that type to compare with.
func Judge(history []Record, cur Record, factor, minPercent int) *Anomaly {
	if factor <= 0 || cur.Result != OK {
		return nil
	}
	var shares []float64
	for i := len(history) - 1; i >= 0 && len(shares) < baselineSamples; i-- {
		h := history[i]
		if h.Result == OK && h.Type == cur.Type && (h.Job == Backup || h.Job == ImageBackup) && h.JobID != cur.JobID {
			shares = append(shares, h.NewIncompressibleShare)
		}
	}
	if len(shares) == 0 {
		return nil
	}
	sort.Float64s(shares)
	med := shares[len(shares)/2]
	if len(shares)%2 == 0 {
		med = (shares[len(shares)/2-1] + shares[len(shares)/2]) / 2
	}
	s := cur.NewIncompressibleShare
	if s*100 < float64(minPercent) || s <= float64(factor)*med {
		return nil
	}
	return &Anomaly{Share: s, Baseline: med, Samples: len(shares), Factor: factor,
		Message: fmt.Sprintf("possible mass encryption in the guest: %.1f%% of the data read is new and incompressible, against a median of %.1f%% over the VM's last %d %s backup(s) (anomaly_factor %d): check the VM before its older backups expire",
			100*s, 100*med, len(shares), cur.Type, factor)}
}
