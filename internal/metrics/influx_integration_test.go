package metrics

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// realInflux is the InfluxDB of scripts/influxdb.sh with a database of the
// test's own, or skips.
func realInflux(t *testing.T) (string, string) {
	t.Helper()
	base := os.Getenv("RB_INFLUXDB_URL")
	if base == "" {
		t.Skip("RB_INFLUXDB_URL is not set: run eval \"$(scripts/influxdb.sh up)\" (scripts/test.sh does)")
	}
	db := fmt.Sprintf("rb_m_%d", rand.Uint64())
	query(t, base, "", "CREATE DATABASE "+db)
	t.Cleanup(func() { query(t, base, "", "DROP DATABASE "+db) })
	return base, db
}

// query runs an InfluxQL statement and returns the values of its first series.
func query(t *testing.T, base, db, q string) [][]any {
	t.Helper()
	resp, err := http.PostForm(base+"/query", url.Values{"q": {q}, "db": {db}, "epoch": {"ms"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Results) == 0 || r.Results[0].Error != "" {
		t.Fatalf("%s: %v %+v", q, err, r)
	}
	if len(r.Results[0].Series) == 0 {
		return nil
	}
	return r.Results[0].Series[0].Values
}

// TestRealInfluxBadPoint: against the real InfluxDB 1.6, a batch with one
// point that cannot be stored (a field type conflict, and a line that does
// not parse) loses only that point: the others arrive, once each.
func TestRealInfluxBadPoint(t *testing.T) {
	base, db := realInflux(t)
	var warn warnings
	o := Options{URL: base, Database: db, BatchSize: 100, FlushInterval: time.Hour, Timeout: 5 * time.Second, Warn: warn.warn}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	w.Add(Point{Measurement: "m", Fields: map[string]any{"v": 1}, Time: time.UnixMilli(1000)})
	if st := w.Close(5 * time.Second); st.Sent != 1 {
		t.Fatalf("first point: %+v %s", st, warn.text())
	}
	w, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 9; i++ {
		switch i {
		case 4:
			w.Add(Point{Measurement: "m", Fields: map[string]any{"v": "a string"}, Time: time.UnixMilli(int64(i) * 1000)}) // v is an integer field
		case 6:
			w.AddLine("m v=1i,=broken 6000")
		default:
			w.Add(Point{Measurement: "m", Fields: map[string]any{"v": i}, Time: time.UnixMilli(int64(i) * 1000)})
		}
	}
	st := w.Close(10 * time.Second)
	rows := query(t, base, db, "SELECT v FROM m")
	var got []float64
	for _, r := range rows {
		got = append(got, r[1].(float64))
	}
	want := []float64{1, 2, 3, 5, 7, 8, 9}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored %v, want %v (stats %+v, warnings %s)", got, want, st, warn.text())
	}
	if st.Rejected != 2 || st.Sent != 6 {
		t.Fatalf("stats %+v, warnings %s", st, warn.text())
	}
}

// TestRealInfluxRetentionPrecision: the retention policy and the
// precision reach the real server: a point written with rp=short at
// precision s is in that policy, at the right second; a spooled ms point
// converted to s lands at the same second.
func TestRealInfluxRetentionPrecision(t *testing.T) {
	base, db := realInflux(t)
	query(t, base, db, "CREATE RETENTION POLICY short ON "+db+" DURATION 2d REPLICATION 1")
	spool := t.TempDir()
	now := time.Now().Truncate(time.Second)
	if k, _ := writeSpool(spool, "ms", []string{fmt.Sprintf("m v=2i %d", now.UnixMilli()+1999)}, 1<<20, t.Logf); k != 1 {
		t.Fatal("spool")
	}
	var warn warnings
	w, err := New(Options{URL: base, Database: db, RetentionPolicy: "short", Precision: "s", SpoolDir: spool, SpoolSize: 1 << 20, Warn: warn.warn})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(Point{Measurement: "m", Fields: map[string]any{"v": 1}, Time: now.Add(700 * time.Millisecond)})
	if st := w.Close(5 * time.Second); st.Sent != 2 {
		t.Fatalf("%+v %s", st, warn.text())
	}
	rows := query(t, base, db, `SELECT v FROM "short".m`)
	if len(rows) != 2 || rows[0][0] != float64(now.UnixMilli()) || rows[1][0] != float64(now.UnixMilli()+1000) {
		t.Fatalf("rows %v", rows)
	}
	if rows := query(t, base, db, `SELECT v FROM "autogen".m`); len(rows) != 0 {
		t.Fatalf("in the default policy: %v", rows)
	}
}
