package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/blockdev"
	"rb_module_rustack/internal/deploy"
	"rb_module_rustack/internal/fakecloud"
	"rb_module_rustack/internal/progress"
	"rb_module_rustack/internal/vmdesc"
)

// restoreCmdFor builds the restore command and parses args without running it.
func restoreCmdFor(t *testing.T, args ...string) (*cobra.Command, *restoreCloudOpts) {
	t.Helper()
	var co restoreCloudOpts
	var cmd *cobra.Command
	for _, c := range newRootCmd(newApp(io.Discard, io.Discard)).Commands() {
		if c.Name() == "restore" {
			cmd = c
		}
	}
	if cmd == nil {
		t.Fatal("no restore command")
	}
	// A fresh command with the same flags as the real one.
	fresh := &cobra.Command{Use: "restore"}
	fresh.Flags().StringArray("disk", nil, "")
	fresh.Flags().Bool("json", false, "")
	addRestoreCloudFlags(fresh, &co)
	if err := fresh.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	// The real command registers every flag once (no panic) and knows ours.
	for _, f := range []string{"deploy", "volume-only", "name", "flavor", "network", "key-name", "security-group",
		"metadata", "no-metadata", "skip-zero-writes", "keep-partial", "disk", "json"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("restore has no --%s", f)
		}
	}
	return fresh, &co
}

func TestRestoreCloudParse(t *testing.T) {
	cmd, o := restoreCmdFor(t, "--deploy", "--name", "web", "--flavor", "m1.small", "--network", "n1", "--network", "n2",
		"--key-name", "none", "--security-group", "sg", "--metadata", "a=b=c", "--no-metadata", "--skip-zero-writes",
		"--keep-partial", "--json", "--volume-type", "ssd")
	r, err := o.parse(cmd.Flags(), "arch")
	if err != nil {
		t.Fatal(err)
	}
	ov := r.opts.Overrides
	if ov.Name != "web" || ov.Flavor != "m1.small" || strings.Join(ov.Networks, ",") != "n1,n2" || ov.KeyName != "none" ||
		ov.SecurityGroups[0] != "sg" || ov.Metadata["a"] != "b=c" || !ov.NoMetadata || ov.VolumeType != "ssd" {
		t.Errorf("overrides %+v", ov)
	}
	if !r.opts.SkipZeroWrites || !r.opts.KeepPartial || !r.asJSON || r.volumeOnly || r.opts.ServerTimeout != 5*time.Minute {
		t.Errorf("request %+v", r)
	}

	cmd, o = restoreCmdFor(t, "--volume-only", "--disk", "vdb", "--volume-name", "mine")
	if r, err = o.parse(cmd.Flags(), "arch"); err != nil || r.opts.Disk != "vdb" || !r.volumeOnly || r.opts.VolumeName != "mine" {
		t.Errorf("volume-only: %+v %v", r, err)
	}

	for _, bad := range [][]string{
		{"--deploy", "--volume-only"},
		{"--volume-only", "--disk", "a", "--disk", "b"},
		{"--deploy", "--disk", "a"},
		{"--deploy", "--volume-name", "x"},
		{"--volume-only", "--flavor", "1"},
		{"--volume-only", "--network", "none"},
		{"--deploy", "--metadata", "=x"},
		{"--deploy", "--boot-timeout", "0s"},
	} {
		cmd, o := restoreCmdFor(t, bad...)
		if _, err := o.parse(cmd.Flags(), "arch"); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// memDisks is an in-memory DiskSource.
type memDisks map[string][]byte

func (m memDisks) RestoreDisk(ctx context.Context, _ *archive.Manifest, label string, dst io.WriterAt, o archive.RestoreOptions) error {
	_, err := dst.WriteAt(m[label], 0)
	if o.Progress != nil {
		o.Progress(int64(len(m[label])))
	}
	return err
}

func TestRestoreCloudOutput(t *testing.T) {
	fc, err := fakecloud.New(fakecloud.Options{Dir: t.TempDir(), Unit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	proxy, _ := fc.AddServer("proxy", fakecloud.Disk{})
	orig, _ := fc.AddServer("db", fakecloud.Disk{Content: []byte("boot")}, fakecloud.Disk{Content: []byte("data")})
	desc := vmdesc.VM{Version: 1, ID: orig.ID, Name: "db", Flavor: vmdesc.Flavor{ID: "1"}}
	src := memDisks{}
	m := &archive.Manifest{ID: "a1", VMName: "db"}
	for i, v := range orig.VolumeIDs {
		desc.Disks = append(desc.Disks, vmdesc.Disk{Label: v, VolumeID: v, Size: 1, BootIndex: []int{0, -1}[i]})
		m.Disks = append(m.Disks, archive.Disk{Label: v, Size: 4})
		src[v] = []byte([]string{"boot", "data"}[i])
	}
	m.VM, _ = desc.Marshal()
	req := func(asJSON bool) *cloudRequest {
		return &cloudRequest{archive: "a1", asJSON: asJSON, opts: deploy.Options{Cloud: fc, Source: src, Manifest: m,
			ProxyVMID: proxy.ID, Devices: blockdev.Finder{Dir: fc.DeviceDir(proxy.ID), SysBlock: "-"}, Unit: 1 << 20,
			VolumeTimeout: 5 * time.Second, AttachTimeout: 5 * time.Second, ServerTimeout: 5 * time.Second}}
	}
	var stdout, stderr bytes.Buffer
	var logged []string
	if err := restoreCloud(context.Background(), &stdout, &stderr, req(true), lineLog{&logged}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK         bool   `json:"ok"`
		ServerName string `json:"server_name"`
		Volumes    []struct{ ID string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || !out.OK || out.ServerName != "db-1" || len(out.Volumes) != 2 {
		t.Fatalf("json %q: %+v %v", stdout.String(), out, err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr (not a terminal) %q", stderr.String())
	}
	if len(logged) == 0 {
		t.Error("nothing logged")
	}

	stdout.Reset()
	if err := restoreCloud(context.Background(), &stdout, &stderr, req(false), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "server db-2 ") || !strings.Contains(stdout.String(), "restored 8 B") {
		t.Errorf("text output %q", stdout.String())
	}

	// A failure: JSON with ok false and the error; exit code 1; canceled: 5.
	fc.Fail("CreateServer", 0, errors.New("boom"))
	stdout.Reset()
	err = restoreCloud(context.Background(), &stdout, &stderr, req(true), nil)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFailure {
		t.Fatalf("err %v", err)
	}
	var fail struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(stdout.Bytes(), &fail); fail.OK || !strings.Contains(fail.Error, "boom") {
		t.Errorf("failure json %q", stdout.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := restoreCloud(ctx, io.Discard, io.Discard, req(false), nil); !errors.As(err, &ee) || ee.code != exitCanceled {
		t.Errorf("canceled: %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	off := restoreProgress(progress.New(&b, "writing", progress.Auto))
	off(deploy.Event{Stage: "volume", Msg: "creating"})
	off(deploy.Event{Stage: "write", Disk: "a", Done: 0, Total: 100})
	if b.Len() != 0 {
		t.Fatalf("printed %q while off (a buffer is not a terminal)", b.String())
	}
	bars := progress.New(&b, "writing", progress.Always)
	event := restoreProgress(bars)
	event(deploy.Event{Stage: "volume", Msg: "creating volume x"})
	event(deploy.Event{Stage: "write", Disk: "a", Done: 0, Total: 100})
	event(deploy.Event{Stage: "write", Disk: "b", Done: 50, Total: 100})
	event(deploy.Event{Stage: "write", Disk: "a", Done: 100, Total: 100})
	event(deploy.Event{Stage: "write", Disk: "b", Done: 100, Total: 100})
	event(deploy.Event{Stage: "server", Msg: "booting"})
	bars.Finish()
	s := b.String()
	if !strings.HasPrefix(s, "creating volume x\n") || !strings.Contains(s, "\nbooting\n") {
		t.Errorf("stage messages not on lines of their own: %q", s)
	}
	for _, want := range []string{"writing a", "writing b", "total", "200 B / 200 B", "100 %", "done"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in %q", want, s)
		}
	}
}

// lineLog keeps the format of every line logged.
type lineLog struct{ lines *[]string }

func (l lineLog) Infof(f string, _ ...any)  { *l.lines = append(*l.lines, f) }
func (l lineLog) Warnf(f string, _ ...any)  { *l.lines = append(*l.lines, f) }
func (l lineLog) Debugf(f string, _ ...any) { *l.lines = append(*l.lines, f) }
func (l lineLog) Errorf(f string, _ ...any) { *l.lines = append(*l.lines, f) }
