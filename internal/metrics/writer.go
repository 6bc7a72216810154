package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Options configure a Writer.
type Options struct {
	URL             string // http(s)://HOST:PORT of InfluxDB 1.x
	Database        string
	RetentionPolicy string // "" = the database's default
	Precision       string // ns | u | ms | s ("" = ms)
	Username        string // "" = no authentication
	Password        string // secret: never in an error or a warning
	CAFile          string // PEM bundle for https ("" = system CAs)

	BatchSize     int           // points per request (default 500)
	FlushInterval time.Duration // a partial batch is sent after this (default 1 s)
	BufferSize    int           // points held at most; the oldest are dropped beyond (default 10000)
	Timeout       time.Duration // one request (default 5 s)

	// SpoolDir holds the points not delivered when Close gives up, for the
	// next Writer with the same SpoolDir; "" = no spool.
	SpoolDir  string
	SpoolSize int64 // bytes of spool files kept at most (0 = no spool)

	// Warn receives one line per problem (a point refused, a point
	// dropped, delivery given up); nil = discard.
	Warn func(format string, args ...any)

	// Transport replaces the HTTP transport (tests); nil = a
	// http.Transport with the CA bundle.
	Transport http.RoundTripper
}

// Stats count what a Writer did with its points.
type Stats struct {
	Sent      int `json:"sent"`       // accepted by the server
	Rejected  int `json:"rejected"`   // refused alone with a 400 (malformed, type conflict): dropped
	Dropped   int `json:"dropped"`    // dropped because the buffer or the spool was full
	Spooled   int `json:"spooled"`    // left in the spool for the next run
	FromSpool int `json:"from_spool"` // taken from earlier runs' spool
	Retries   int `json:"retries"`    // requests repeated after a 5xx, a timeout or a refused connection
}

// Writer buffers points and sends them in batches from one goroutine: when
// a batch is full, when FlushInterval passes, and at Close. A 5xx answer, a
// timeout or a refused connection re-queues the batch with exponential
// backoff; a 400 splits the batch until the refused point is alone, and
// only that one is dropped; any other answer (401, 403, 404: a setting is
// wrong) stops the sending and leaves the points for the spool.
type Writer struct {
	o        Options
	client   *http.Client
	endpoint string

	mu      sync.Mutex
	buf     []string // lines, oldest first
	stats   Stats
	halted  error    // a permanent refusal: nothing more is sent
	claimed []string // spool files this writer took over

	kick    chan struct{}
	closing chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	warned  bool // the first buffer drop was warned about
}

// New checks o, takes over the spool's files (their points are sent first)
// and starts the sending goroutine. Call Close to deliver and stop.
func New(o Options) (*Writer, error) {
	if o.Precision == "" {
		o.Precision = "ms"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.BufferSize <= 0 {
		o.BufferSize = 10000
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Warn == nil {
		o.Warn = func(string, ...any) {}
	}
	endpoint, err := writeURL(o)
	if err != nil {
		return nil, err
	}
	tr := o.Transport
	if tr == nil {
		t, err := transport(o.CAFile)
		if err != nil {
			return nil, err
		}
		tr = t
	}
	w := &Writer{o: o, client: &http.Client{Transport: tr}, endpoint: endpoint,
		kick: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if o.SpoolDir != "" {
		lines, files := claimSpool(o.SpoolDir, o.Precision, o.Warn)
		w.buf = append(w.buf, lines...)
		w.stats.FromSpool = len(lines)
		w.claimed = files
		if over := len(w.buf) - o.BufferSize; over > 0 {
			w.buf = w.buf[over:]
			w.stats.Dropped += over
			o.Warn("metrics: %d spooled point(s) dropped: more than influxdb_buffer_size (%d)", over, o.BufferSize)
		}
	}
	go w.run()
	return w, nil
}

// writeURL is the /write endpoint with its query.
func writeURL(o Options) (string, error) {
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("InfluxDB URL %q: want http(s)://HOST:PORT", SafeURL(o.URL))
	}
	if o.Database == "" {
		return "", errors.New("InfluxDB: no database given (influxdb_database)")
	}
	switch o.Precision {
	case "ns", "u", "ms", "s":
	default:
		return "", fmt.Errorf("InfluxDB precision %q: want ns, u, ms or s", o.Precision)
	}
	q := url.Values{"db": {o.Database}, "precision": {o.Precision}}
	if o.RetentionPolicy != "" {
		q.Set("rp", o.RetentionPolicy)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/write"
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// transport is an HTTP transport that trusts caFile's CAs when given.
func transport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("InfluxDB CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("InfluxDB CA bundle %s: no PEM certificate in it", caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// Add queues p. A point that does not encode is warned about and dropped.
func (w *Writer) Add(p Point) {
	line, err := p.Line(w.o.Precision)
	if err != nil {
		w.o.Warn("metrics: %v", err)
		return
	}
	w.AddLine(line)
}

// AddLine queues one line of the line protocol as it is.
func (w *Writer) AddLine(line string) {
	w.mu.Lock()
	w.buf = append(w.buf, line)
	if over := len(w.buf) - w.o.BufferSize; over > 0 {
		w.buf = w.buf[over:]
		w.stats.Dropped += over
		if !w.warned {
			w.warned = true
			w.o.Warn("metrics: buffer full (influxdb_buffer_size %d): the oldest points are dropped", w.o.BufferSize)
		}
	}
	full := len(w.buf) >= w.o.BatchSize
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// take removes the next batch from the buffer: a full one, or with all
// whatever is there.
func (w *Writer) take(all bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.halted != nil || len(w.buf) == 0 || (!all && len(w.buf) < w.o.BatchSize) {
		return nil
	}
	n := min(len(w.buf), w.o.BatchSize)
	batch := w.buf[:n:n]
	w.buf = w.buf[n:]
	return batch
}

// requeue puts lines back at the front of the buffer.
func (w *Writer) requeue(lines []string) {
	if len(lines) == 0 {
		return
	}
	w.mu.Lock()
	w.buf = append(append([]string(nil), lines...), w.buf...)
	if over := len(w.buf) - w.o.BufferSize; over > 0 {
		w.buf = w.buf[over:]
		w.stats.Dropped += over
	}
	w.mu.Unlock()
}

// run is the sending goroutine.
func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.o.FlushInterval)
	defer tick.Stop()
	closing := false
	for {
		all := closing
		if !closing {
			select {
			case <-w.ctx.Done():
				return
			case <-w.kick:
			case <-tick.C:
				all = true
			case <-w.closing:
				closing, all = true, true
			}
		}
		backoff := 100 * time.Millisecond
		for {
			batch := w.take(all)
			if batch == nil {
				break
			}
			rest, err := w.deliver(batch)
			if err == nil {
				backoff = 100 * time.Millisecond
				continue
			}
			w.requeue(rest)
			var perm *permanentError
			if errors.As(err, &perm) {
				w.mu.Lock()
				w.halted = err
				w.mu.Unlock()
				w.o.Warn("metrics: %v; the points are kept for the next run", err)
				break
			}
			if w.ctx.Err() != nil {
				return
			}
			w.mu.Lock()
			w.stats.Retries++
			w.mu.Unlock()
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if closing {
			return
		}
	}
}

// permanentError is an answer that a retry will not change.
type permanentError struct {
	status int
	body   string
}

func (e *permanentError) Error() string {
	return fmt.Sprintf("InfluxDB refused the write: HTTP %d %s", e.status, e.body)
}

// deliver sends lines; a 400 splits them until the refused point is alone
// and dropped. It returns the lines not delivered (to requeue) with the
// error that stopped it.
func (w *Writer) deliver(lines []string) ([]string, error) {
	status, body, err := w.post(w.ctx, lines)
	switch {
	case err != nil:
		return lines, err
	case status/100 == 2:
		w.mu.Lock()
		w.stats.Sent += len(lines)
		w.mu.Unlock()
		return nil, nil
	case status == http.StatusBadRequest:
		if len(lines) == 1 {
			w.mu.Lock()
			w.stats.Rejected++
			w.mu.Unlock()
			w.o.Warn("metrics: InfluxDB refused a point, dropped: %s (point: %.300s)", body, lines[0])
			return nil, nil
		}
		half := len(lines) / 2
		if rest, err := w.deliver(lines[:half]); err != nil {
			return append(rest, lines[half:]...), err
		}
		return w.deliver(lines[half:])
	case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout:
		return lines, fmt.Errorf("InfluxDB answered HTTP %d %s", status, body)
	}
	return lines, &permanentError{status: status, body: body}
}

// post sends one request; err is a transport error (refused, timeout).
func (w *Writer) post(ctx context.Context, lines []string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint, strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if w.o.Username != "" {
		req.SetBasicAuth(w.o.Username, w.o.Password)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("InfluxDB write to %s: %w", redactURL(w.endpoint), unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// unwrapURLError drops url.Error's repetition of method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL is u without user information and query.
func redactURL(u string) string { return SafeURL(u) }

// Close sends what is buffered, waiting at most maxDelay; the rest goes to
// the spool (bounded; the oldest files are dropped beyond SpoolSize). It
// returns what happened to the points. Close is safe to call once.
func (w *Writer) Close(maxDelay time.Duration) Stats {
	w.once.Do(func() {
		close(w.closing)
		t := time.NewTimer(maxDelay)
		select {
		case <-w.done:
		case <-t.C:
			w.cancel()
			<-w.done
		}
		t.Stop()
		w.cancel()
		w.mu.Lock()
		rest := w.buf
		w.buf = nil
		w.mu.Unlock()
		spooled, dropped := 0, 0
		if w.o.SpoolDir != "" && w.o.SpoolSize > 0 {
			spooled, dropped = writeSpool(w.o.SpoolDir, w.o.Precision, rest, w.o.SpoolSize, w.o.Warn)
		} else {
			dropped = len(rest)
		}
		for _, f := range w.claimed {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				w.o.Warn("metrics: remove spool file: %v", err)
			}
		}
		w.mu.Lock()
		w.stats.Spooled = spooled
		w.stats.Dropped += dropped
		w.mu.Unlock()
		if len(rest) > 0 {
			w.o.Warn("metrics: %d point(s) not delivered to InfluxDB within influxdb_max_delay (%s): %d spooled for the next run, %d dropped",
				len(rest), maxDelay, spooled, dropped)
		}
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Ping asks InfluxDB's /ping for its version (a -t check).
func Ping(ctx context.Context, o Options) (string, error) {
	tr := o.Transport
	if tr == nil {
		t, err := transport(o.CAFile)
		if err != nil {
			return "", err
		}
		tr = t
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("InfluxDB URL %q: want http(s)://HOST:PORT", SafeURL(o.URL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ping"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", fmt.Errorf("InfluxDB ping: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("InfluxDB ping %s: HTTP %d", SafeURL(u.String()), resp.StatusCode)
	}
	return resp.Header.Get("X-Influxdb-Version"), nil
}

// WriteNow sends points in one request and waits for the answer (a -t
// check): no buffer, no retry, no spool.
func WriteNow(ctx context.Context, o Options, points ...Point) error {
	o.SpoolDir = ""
	w := &Writer{o: o}
	if w.o.Precision == "" {
		w.o.Precision = "ms"
	}
	if w.o.Timeout <= 0 {
		w.o.Timeout = 5 * time.Second
	}
	endpoint, err := writeURL(w.o)
	if err != nil {
		return err
	}
	w.endpoint = endpoint
	tr := o.Transport
	if tr == nil {
		t, err := transport(o.CAFile)
		if err != nil {
			return err
		}
		tr = t
	}
	w.client = &http.Client{Transport: tr}
	lines := make([]string, 0, len(points))
	for _, p := range points {
		l, err := p.Line(w.o.Precision)
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	status, body, err := w.post(ctx, lines)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("InfluxDB write: HTTP %d %s", status, body)
	}
	return nil
}

// SafeURL is u for messages: without user information (a password may be
// written there) and without the query.
func SafeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}
