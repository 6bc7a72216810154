package journal

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
)

// TestOtherProcess runs a job in a child process: while the child lives its
// journal is not listed; once it is killed, it is.
func TestOtherProcess(t *testing.T) {
	if dir := os.Getenv("JOURNAL_CHILD_DIR"); dir != "" {
		j, err := Begin(dir, "child1", "backup")
		if err != nil {
			os.Exit(3)
		}
		j.Record(KindSnapshot, "rbk-child1-snap-x")
		os.Stdout.WriteString("ready\n")
		select {} // wait to be killed
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOtherProcess$")
	cmd.Env = append(os.Environ(), "JOURNAL_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q %v", line, err)
	}
	got, err := List(dir)
	if err != nil || len(got) != 0 {
		cmd.Process.Kill()
		t.Fatalf("live child's journal listed: %v %v", got, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	got, err = List(dir)
	if err != nil || len(got) != 1 || got[0].PID() != cmd.Process.Pid {
		t.Fatalf("killed child's journal: %v %v", got, err)
	}
	if e := got[0].Entries(); len(e) != 1 || e[0].Name != "rbk-child1-snap-x" {
		t.Fatalf("entries %+v", e)
	}
	got[0].Close()
}
