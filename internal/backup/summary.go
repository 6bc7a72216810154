package backup

import (
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/jobrecord"
)

// Counts are the byte and chunk counts of a committed backup.
type Counts struct {
	BytesRead   int64 `json:"bytes_read"`
	BytesZero   int64 `json:"bytes_zero"`
	BytesNew    int64 `json:"bytes_new"`
	BytesStored int64 `json:"bytes_stored"`
	Chunks      int   `json:"chunks"`
	NewChunks   int   `json:"new_chunks"`
}

// CountsOf are the counts of an archive's summary.
func CountsOf(s *archive.Summary) Counts {
	return Counts{BytesRead: s.BytesRead, BytesZero: s.BytesZero, BytesNew: s.BytesNew,
		BytesStored: s.BytesStored, Chunks: s.Chunks, NewChunks: s.NewChunks}
}

// VMSummary describes a committed VM backup (the backup command's --json).
type VMSummary struct {
	Archive   string        `json:"archive"`
	Path      string        `json:"path"`
	VMID      string        `json:"vm_id"`
	VMName    string        `json:"vm_name"`
	Type      string        `json:"type"`
	Requested string        `json:"requested_type"`
	Note      string        `json:"note,omitempty"`
	Parent    string        `json:"parent,omitempty"`
	JobID     string        `json:"job_id"`
	Disks     []SummaryDisk `json:"disks"`
	Counts
	Seconds     float64 `json:"seconds"`       // whole job: snapshots, reads, cleanup, commit
	ReadSeconds float64 `json:"read_seconds"`  // longest disk read (disks are read in parallel)
	MBps        float64 `json:"mb_per_s"`      // bytes read / Seconds
	ReadMBps    float64 `json:"read_mb_per_s"` // bytes read / ReadSeconds
	Scripts     bool    `json:"scripts"`
	Warning     string  `json:"warning,omitempty"`
	// Anomaly is set when the backup's new incompressible share is far
	// above the VM's history (docs/monitoring.md).
	Anomaly *jobrecord.Anomaly `json:"anomaly,omitempty"`
}

// SummaryDisk is one disk of a VM backup.
type SummaryDisk struct {
	Label    string `json:"label"`
	VolumeID string `json:"volume_id"`
	Size     int64  `json:"size"`
}

// Summary describes the committed backup; requested is the type asked for.
func (r *VMResult) Summary(requested string) VMSummary {
	res, s := r.Run, r.Archive
	out := VMSummary{
		Archive: s.ArchiveID, Path: s.Path, VMID: res.VM.ID, VMName: res.VM.Name, Type: string(s.Type),
		Requested: requested, Note: r.Note, Parent: s.Parent, JobID: res.JobID,
		Counts: CountsOf(s), Seconds: r.Took.Seconds(),
		Scripts: res.Scripts, Warning: r.Warning,
	}
	for _, d := range res.Disks {
		out.Disks = append(out.Disks, SummaryDisk{Label: d.Label, VolumeID: d.VolumeID, Size: d.Size})
		out.ReadSeconds = max(out.ReadSeconds, d.Duration.Seconds())
	}
	out.MBps = Rate(out.BytesRead, out.Seconds)
	out.ReadMBps = Rate(out.BytesRead, out.ReadSeconds)
	return out
}

// ImagesSummary describes a committed image backup (image backup --json).
type ImagesSummary struct {
	Archive   string `json:"archive"`
	Path      string `json:"path"`
	Type      string `json:"type"`
	Requested string `json:"requested_type"`
	Note      string `json:"note,omitempty"`
	Parent    string `json:"parent,omitempty"`
	Counts
	Seconds float64            `json:"seconds"`
	MBps    float64            `json:"read_mb_per_s"`
	Anomaly *jobrecord.Anomaly `json:"anomaly,omitempty"` // as VMSummary's
}

// Rate is n bytes over sec seconds in MB/s (0 for no time).
func Rate(n int64, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return float64(n) / 1e6 / sec
}
