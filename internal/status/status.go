package status

import (
	"fmt"
	"sort"
	"time"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/jobrecord"
)

// VM is a VM of the project (from the cloud), to list those never backed up.
type VM struct{ ID, Name string }

// Row is one VM of the report.
type Row struct {
	VMID        string     `json:"vm_id"`
	VMName      string     `json:"vm_name"`
	Archives    int        `json:"archives"`
	LastBackup  *time.Time `json:"last_backup,omitempty"` // end of the newest backup job, or creation of the newest archive
	LastType    string     `json:"last_type,omitempty"`
	LastResult  string     `json:"last_result,omitempty"` // ok, failed, canceled
	LastError   string     `json:"last_error,omitempty"`
	LastSeconds float64    `json:"last_duration_seconds"`
	LastSize    int64      `json:"last_size_bytes"` // bytes stored by it (pool mode: its archive file)
	LastGood    *time.Time `json:"last_good_backup,omitempty"`
	AgeSeconds  float64    `json:"age_seconds"` // of the newest good backup; -1 when there is none
	Stale       bool       `json:"stale"`       // no good backup within the maximum age
	Anomaly     string     `json:"anomaly,omitempty"`
}

// isBackup says whether a record is of a backup job.
func isBackup(r jobrecord.Record) bool {
	return r.Job == jobrecord.Backup || r.Job == jobrecord.ImageBackup
}

// Build makes the report, sorted by VM name then id.
func Build(archives []archive.Info, records map[string][]jobrecord.Record, vms []VM, now time.Time, maxAge time.Duration) []Row {
	rows := map[string]*Row{}
	get := func(id, name string) *Row {
		r, ok := rows[id]
		if !ok {
			r = &Row{VMID: id, AgeSeconds: -1}
			rows[id] = r
		}
		if name != "" {
			r.VMName = name
		}
		return r
	}
	for _, v := range vms {
		get(v.ID, v.Name)
	}
	// Archives: the newest of each VM, and the count.
	newest := map[string]archive.Info{}
	for _, in := range archives {
		if in.Type == "damaged" || in.VMID == "" {
			continue
		}
		r := get(in.VMID, in.VMName)
		r.Archives++
		if n, ok := newest[in.VMID]; !ok || in.Created.After(n.Created) {
			newest[in.VMID] = in
		}
	}
	for id, in := range newest {
		r := rows[id]
		t := in.Created
		r.LastBackup, r.LastType, r.LastResult, r.LastSize = &t, string(in.Type), jobrecord.OK, in.Size
		g := t
		r.LastGood = &g
	}
	// Job records: newer than the newest archive, they say more (duration,
	// failures).
	for key, recs := range records {
		var last *jobrecord.Record
		var good *time.Time
		for i := range recs {
			rec := recs[i]
			if !isBackup(rec) {
				continue
			}
			if last == nil || rec.End.After(last.End) {
				last = &recs[i]
			}
			if rec.Result == jobrecord.OK && (good == nil || rec.End.After(*good)) {
				e := rec.End
				good = &e
			}
		}
		if last == nil {
			continue
		}
		r := get(key, last.VMName)
		if r.LastBackup == nil || !last.End.Before(*r.LastBackup) {
			e := last.End
			r.LastBackup, r.LastType, r.LastResult, r.LastSeconds = &e, last.Type, last.Result, last.Seconds
			r.LastSize, r.LastError = last.BytesStored, last.Error
			if r.LastType == "" {
				r.LastType = last.Requested
			}
			if last.Anomaly != nil {
				r.Anomaly = last.Anomaly.Message
			}
		}
		if good != nil && (r.LastGood == nil || good.After(*r.LastGood)) {
			r.LastGood = good
		}
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if r.LastGood != nil {
			r.AgeSeconds = now.Sub(*r.LastGood).Seconds()
		}
		r.Stale = r.LastGood == nil || now.Sub(*r.LastGood) > maxAge
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].VMName != out[j].VMName {
			return out[i].VMName < out[j].VMName
		}
		return out[i].VMID < out[j].VMID
	})
	return out
}

// State is the short word of a row: STALE, FAILED, ANOMALY or ok.
func (r Row) State() string {
	switch {
	case r.Stale && r.LastGood == nil:
		return "STALE (no good backup)"
	case r.Stale:
		return "STALE"
	case r.LastResult == jobrecord.Failed || r.LastResult == jobrecord.Canceled:
		return "FAILED"
	case r.Anomaly != "":
		return "ANOMALY"
	}
	return "ok"
}

// Age formats an age in seconds: 3d4h, 5h12m, 42m, or "never".
func Age(sec float64) string {
	if sec < 0 {
		return "never"
	}
	d := time.Duration(sec) * time.Second
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dm", int(d.Minutes()))
}
