package metrics

import (
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeInflux is a misbehaving InfluxDB /write: it can fail the first
// requests with 500, refuse a whole batch with 400 when a line contains
// "BAD" (as InfluxDB does for a line it cannot parse), or answer slowly. It
// counts each line it accepted, and only those whose answer it finished
// before the client gave up.
type fakeInflux struct {
	mu       sync.Mutex
	got      map[string]int
	requests int
	fail500  int           // answer 500 to this many requests first
	delay    time.Duration // wait before answering
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests++
	n500 := f.fail500 > 0
	if n500 {
		f.fail500--
	}
	delay := f.delay
	f.mu.Unlock()
	if r.URL.Path != "/write" || r.URL.Query().Get("db") != "db1" {
		http.Error(w, "database not found", http.StatusNotFound)
		return
	}
	if n500 {
		http.Error(w, "internal", http.StatusInternalServerError)
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return // the client gave up: nothing written
		}
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	for _, l := range lines {
		if strings.Contains(l, "BAD") {
			http.Error(w, `{"error":"unable to parse '`+l+`': invalid field format"}`, http.StatusBadRequest)
			return
		}
	}
	f.mu.Lock()
	for _, l := range lines {
		f.got[l]++
	}
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeInflux) count() (lines, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.got {
		lines++
		if n > 1 {
			dups++
		}
	}
	return
}

func newFake(t *testing.T) (*fakeInflux, *httptest.Server) {
	f := &fakeInflux{got: map[string]int{}}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	return f, s
}

type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) warn(f string, a ...any) {
	w.mu.Lock()
	w.lines = append(w.lines, fmt.Sprintf(f, a...))
	w.mu.Unlock()
}

func (w *warnings) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

func opts(url, spool string, warn *warnings) Options {
	return Options{URL: url, Database: "db1", Precision: "ms", Username: "u", Password: "s3cret-pw",
		BatchSize: 10, FlushInterval: 50 * time.Millisecond, BufferSize: 1000, Timeout: 300 * time.Millisecond,
		SpoolDir: spool, SpoolSize: 1 << 20, Warn: warn.warn}
}

func point(i int) Point {
	return Point{Measurement: "rb_job", Tags: map[string]string{"vm_name": "web 1", "job": "backup"},
		Fields: map[string]any{"n": i, "ratio": 1.5}, Time: time.Unix(1700000000, int64(i)*int64(time.Millisecond))}
}

func TestLineEncoding(t *testing.T) {
	p := Point{Measurement: "m x,y", Tags: map[string]string{"b": "v=1,2 3", "a": "x", "empty": ""},
		Fields: map[string]any{"s": `say "hi" \ ok`, "i": int64(-3), "f": 2.0, "ok": true, "nan": 0.0 / zero()},
		Time:   time.Unix(10, 5e6)}
	got, err := p.Line("ms")
	want := `m\ x\,y,a=x,b=v\=1\,2\ 3 f=2.0,i=-3i,ok=true,s="say \"hi\" \\ ok" 10005`
	if err != nil || got != want {
		t.Fatalf("Line =\n%s (%v)\nwant\n%s", got, err, want)
	}
	for prec, ts := range map[string]string{"s": "10", "u": "10005000", "ns": "10005000000"} {
		if l, _ := p.Line(prec); !strings.HasSuffix(l, " "+ts) {
			t.Errorf("precision %s: %s", prec, l)
		}
	}
	if _, err := (Point{Measurement: "m"}).Line("ms"); err == nil {
		t.Error("a point without fields encoded")
	}
}

func zero() float64 { return 0 }

// TestRetry500ThenOK: the first two requests fail with 500; the batch is
// re-queued with backoff and arrives once.
func TestRetry500ThenOK(t *testing.T) {
	f, s := newFake(t)
	f.fail500 = 2
	var warn warnings
	w, err := New(opts(s.URL, t.TempDir(), &warn))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		w.Add(point(i))
	}
	st := w.Close(5 * time.Second)
	n, dups := f.count()
	if n != 5 || dups != 0 || st.Sent != 5 || st.Retries < 2 || st.Spooled != 0 {
		t.Fatalf("got %d lines (%d twice), stats %+v", n, dups, st)
	}
	if strings.Contains(warn.text(), "s3cret-pw") {
		t.Fatal("password in a warning")
	}
}

// TestBadPointAlone: one malformed line in a batch of 10; the batch is
// split until it is alone, it is dropped and warned about, the 9 others
// arrive once.
func TestBadPointAlone(t *testing.T) {
	f, s := newFake(t)
	var warn warnings
	o := opts(s.URL, t.TempDir(), &warn)
	o.FlushInterval = time.Hour // only the full batch triggers
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if i == 6 {
			w.AddLine("rb_job,vm_name=x BAD=1 1700000000000")
			continue
		}
		w.Add(point(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := f.count(); n == 9 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := w.Close(time.Second)
	n, dups := f.count()
	if n != 9 || dups != 0 || st.Rejected != 1 || st.Sent != 9 {
		t.Fatalf("got %d lines (%d twice), stats %+v", n, dups, st)
	}
	if !strings.Contains(warn.text(), "refused a point") || !strings.Contains(warn.text(), "BAD=1") {
		t.Fatalf("warnings: %s", warn.text())
	}
}

// TestDownThenSpool: InfluxDB is down (connection refused); Close gives up
// after maxDelay and spools; the next writer, with InfluxDB up, delivers
// the spooled points and its own, each once, and empties the spool.
func TestDownThenSpool(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	spool := t.TempDir()
	var warn warnings
	w, err := New(opts("http://"+addr, spool, &warn))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.Add(point(i))
	}
	start := time.Now()
	st := w.Close(400 * time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %s with max delay 400ms", took)
	}
	if st.Spooled != 3 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(warn.text(), "3 spooled") {
		t.Fatalf("warnings: %s", warn.text())
	}
	files, _ := filepath.Glob(filepath.Join(spool, "*.lp"))
	if len(files) != 1 {
		t.Fatalf("spool files %v", files)
	}

	f, s := newFake(t)
	w2, err := New(opts(s.URL, spool, &warn))
	if err != nil {
		t.Fatal(err)
	}
	w2.Add(point(3))
	st = w2.Close(5 * time.Second)
	n, dups := f.count()
	if n != 4 || dups != 0 || st.FromSpool != 3 || st.Sent != 4 || st.Spooled != 0 {
		t.Fatalf("second run: %d lines (%d twice), stats %+v", n, dups, st)
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Fatalf("spool not empty: %v", left)
	}
	// A third run sends nothing again.
	w3, _ := New(opts(s.URL, spool, &warn))
	if st := w3.Close(time.Second); st.Sent != 0 || st.FromSpool != 0 {
		t.Fatalf("third run: %+v", st)
	}
	if n, dups := f.count(); n != 4 || dups != 0 {
		t.Fatalf("after the third run: %d lines, %d twice", n, dups)
	}
}

// TestSlowServer: every answer takes 2 s, the request timeout is 300 ms
// and the job may wait 500 ms: Close returns in time, the points are
// spooled and not counted by the server; the next run, with a fast server,
// delivers them once.
func TestSlowServer(t *testing.T) {
	f, s := newFake(t)
	f.delay = 2 * time.Second
	spool := t.TempDir()
	var warn warnings
	w, err := New(opts(s.URL, spool, &warn))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		w.Add(point(i))
	}
	start := time.Now()
	st := w.Close(500 * time.Millisecond)
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("Close took %s", took)
	}
	if st.Spooled != 4 {
		t.Fatalf("stats %+v", st)
	}
	f.mu.Lock()
	f.delay = 0
	f.mu.Unlock()
	w2, _ := New(opts(s.URL, spool, &warn))
	st = w2.Close(5 * time.Second)
	n, dups := f.count()
	if n != 4 || dups != 0 || st.Sent != 4 {
		t.Fatalf("%d lines (%d twice), stats %+v", n, dups, st)
	}
}

// TestBufferBound: the buffer keeps the newest points, counts and warns
// about the dropped ones.
func TestBufferBound(t *testing.T) {
	f, s := newFake(t)
	f.fail500 = 1000000 // never accepts
	var warn warnings
	o := opts(s.URL, "", &warn)
	o.BufferSize = 5
	o.BatchSize = 100
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		w.Add(point(i))
	}
	st := w.Close(200 * time.Millisecond)
	// 7 dropped by the buffer, 5 at Close (no spool).
	if st.Dropped != 12 || st.Sent != 0 || !strings.Contains(warn.text(), "buffer full") {
		t.Fatalf("stats %+v, warnings %s", st, warn.text())
	}
}

// TestSpoolBound: the spool keeps at most SpoolSize bytes, the newest.
func TestSpoolBound(t *testing.T) {
	spool := t.TempDir()
	var warn warnings
	var lines []string
	for i := range 100 {
		l, _ := point(i).Line("ms")
		lines = append(lines, l)
	}
	kept, dropped := writeSpool(spool, "ms", lines, 2000, warn.warn)
	if kept+dropped != 100 || kept == 0 || dropped == 0 {
		t.Fatalf("kept %d dropped %d", kept, dropped)
	}
	got, claimed := claimSpool(spool, "ms", warn.warn)
	if len(got) != kept || got[len(got)-1] != lines[99] || len(claimed) != 1 {
		t.Fatalf("claimed %d lines (want %d, newest last)", len(got), kept)
	}
	// A claimed file is not taken by a second live claimer (this process
	// is alive), but a dead process's claim is taken over.
	if again, _ := claimSpool(spool, "ms", warn.warn); len(again) != 0 {
		t.Fatal("a claimed file was taken twice")
	}
	dead := strings.Replace(claimed[0], fmt.Sprintf("claimed-%d", os.Getpid()), "claimed-999999999", 1)
	if err := os.Rename(claimed[0], dead); err != nil {
		t.Fatal(err)
	}
	if again, _ := claimSpool(spool, "s", warn.warn); len(again) != kept || !strings.HasSuffix(again[0], " 1700000000") {
		t.Fatalf("dead claim not taken over, or precision not converted: %d %q", len(again), again[0])
	}
}

// TestPermanentRefusal: a 404 (no such database) stops sending at once and
// spools the points.
func TestPermanentRefusal(t *testing.T) {
	_, s := newFake(t)
	var warn warnings
	o := opts(s.URL, t.TempDir(), &warn)
	o.Database = "nosuch"
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	w.Add(point(1))
	st := w.Close(time.Second)
	if st.Spooled != 1 || !strings.Contains(warn.text(), "HTTP 404") {
		t.Fatalf("stats %+v, warnings %s", st, warn.text())
	}
}

func FuzzParseSpool(f *testing.F) {
	f.Add([]byte("# precision=s\nm,a=b f=1i 10\n\nm f=2 20\n"))
	f.Add([]byte("m f=1 99999999999999999999\n# precision=ns\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range parseSpool(data, "ms") {
			if l == "" || strings.HasPrefix(l, "#") || strings.Contains(l, "\n") {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}

// TestTLSWithCA: an https InfluxDB is verified against influxdb_ca_file;
// without that CA the certificate is refused and the points are spooled.
func TestTLSWithCA(t *testing.T) {
	f := &fakeInflux{got: map[string]int{}}
	s := httptest.NewTLSServer(f)
	defer s.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	var warn warnings
	o := opts(s.URL, t.TempDir(), &warn)
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	w.Add(point(1))
	if st := w.Close(time.Second); st.Sent != 0 || st.Spooled != 1 {
		t.Fatalf("without the CA: %+v", st)
	}
	o.CAFile = ca
	w, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if st := w.Close(5 * time.Second); st.Sent != 1 || st.FromSpool != 1 {
		t.Fatalf("with the CA: %+v %s", st, warn.text())
	}
	if _, err := New(Options{URL: s.URL, Database: "db1", CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil {
		t.Fatal("a missing CA file was accepted")
	}
}

// TestFlushInterval: a partial batch is sent once the flush interval has
// passed, before Close.
func TestFlushInterval(t *testing.T) {
	f, s := newFake(t)
	var warn warnings
	o := opts(s.URL, "", &warn)
	o.BatchSize = 100
	o.FlushInterval = 100 * time.Millisecond
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(time.Second)
	w.Add(point(1))
	w.Add(point(2))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := f.count(); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a partial batch was not sent after the flush interval")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.mu.Lock()
	reqs := f.requests
	f.mu.Unlock()
	if reqs != 1 {
		t.Fatalf("%d requests for 2 points in one interval", reqs)
	}
}
