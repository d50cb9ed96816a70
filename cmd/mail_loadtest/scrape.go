package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// promAccept is what Prometheus 2.x sends; the exporter answers text.
const promAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// scrape is what one GET /metrics of the exporter showed.
type scrape struct {
	took       time.Duration // request sent to last byte read
	wireBytes  int           // as transferred (gzipped when asked)
	rawBytes   int           // uncompressed text
	series     int
	checksOK   float64 // mail_exporter_checks_total{kind="endpoint"}
	checksFail float64
	lag        histogram // mail_exporter_schedule_lag_seconds{kind="endpoint"}
	greeting   float64   // greeting phase of the delayed server, seconds; NaN if absent
	delayedRun float64   // its mail_probe_last_run_timestamp_seconds
}

// histogram is a cumulative Prometheus histogram: upper bound -> count.
type histogram map[float64]float64

// sub returns h - prev (both cumulative).
func (h histogram) sub(prev histogram) histogram {
	out := histogram{}
	for le, c := range h {
		out[le] = c - prev[le]
	}
	return out
}

// quantile estimates q like PromQL's histogram_quantile: linear
// interpolation inside the bucket that holds the rank.
func (h histogram) quantile(q float64) float64 {
	les := make([]float64, 0, len(h))
	for le := range h {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return math.NaN()
	}
	total := h[math.Inf(1)]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevLE, prevC := 0.0, 0.0
	for _, le := range les {
		c := h[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevLE // PromQL answers the highest finite bound
			}
			if c == prevC {
				return le
			}
			return prevLE + (le-prevLE)*(rank-prevC)/(c-prevC)
		}
		prevLE, prevC = le, c
	}
	return prevLE
}

// scrapeExporter GETs url like Prometheus does (gzip when gz) and parses
// the few series the load test needs.
// buf is reused between scrapes (nil: a new one), so that growing it is
// not timed as part of the scrape.
func scrapeExporter(client *http.Client, url string, gz bool, delayedServer string, buf *bytes.Buffer) (*scrape, error) {
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", promAccept)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	body := buf
	_, err = io.Copy(body, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	s := &scrape{took: took, wireBytes: body.Len(), lag: histogram{}, greeting: math.NaN(), delayedRun: math.NaN()}
	var r io.Reader = body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	cr := &countingReader{r: r}
	if err := s.parse(cr, delayedServer); err != nil {
		return nil, err
	}
	s.rawBytes = int(cr.n)
	return s, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *scrape) parse(r io.Reader, delayedServer string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	delayed := []byte(`server="` + delayedServer + `"`)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s.series++
		switch {
		case bytes.HasPrefix(line, []byte("mail_exporter_checks_total{")):
			l, v := parseSample(line)
			if l["kind"] == "endpoint" {
				if l["result"] == "success" {
					s.checksOK = v
				} else {
					s.checksFail = v
				}
			}
		case bytes.HasPrefix(line, []byte("mail_exporter_schedule_lag_seconds_bucket{")):
			l, v := parseSample(line)
			if l["kind"] == "endpoint" {
				le, err := strconv.ParseFloat(l["le"], 64)
				if err == nil {
					s.lag[le] = v
				}
			}
		case bytes.Contains(line, delayed) && bytes.HasPrefix(line, []byte("mail_probe_phase_duration_seconds{")):
			if l, v := parseSample(line); l["phase"] == "greeting" {
				s.greeting = v
			}
		case bytes.Contains(line, delayed) && bytes.HasPrefix(line, []byte("mail_probe_last_run_timestamp_seconds{")):
			_, s.delayedRun = parseSample(line)
		}
	}
	return sc.Err()
}

// parseSample parses `name{a="x",b="y"} value` (quote- and escape-aware
// enough for the exporter's own series).
func parseSample(line []byte) (map[string]string, float64) {
	labels := map[string]string{}
	i := bytes.IndexByte(line, '{')
	j := bytes.LastIndexByte(line, '}')
	if i < 0 || j < i {
		return labels, math.NaN()
	}
	body := string(line[i+1 : j])
	for len(body) > 0 {
		eq := strings.IndexByte(body, '=')
		if eq < 0 || eq+1 >= len(body) || body[eq+1] != '"' {
			break
		}
		name := strings.TrimLeft(body[:eq], ",")
		k := eq + 2
		var val strings.Builder
		for k < len(body) && body[k] != '"' {
			if body[k] == '\\' && k+1 < len(body) {
				k++
			}
			val.WriteByte(body[k])
			k++
		}
		labels[name] = val.String()
		body = body[min(k+1, len(body)):]
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(line[j+1:])), 64)
	if err != nil {
		v = math.NaN()
	}
	return labels, v
}
