package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// realOpts are the flags of `mail_loadtest real`: mail_exporter with its
// default schedule against a real Dovecot (collector/internal/peers/mailpeers)
// on two loopback addresses, IMAPS and POP3S without login.
type realOpts struct {
	exporter, peers  string
	sizes            []int
	interval         time.Duration
	warmup, duration time.Duration
	scrapeEvery      time.Duration
	global           string // extra global: keys, e.g. "host_concurrency: 16"
	workdir          string
	keep             bool
	jsonOut          string
	addrs            []string
}

// realResult is one size's figures.
type realResult struct {
	Endpoints    int     `json:"endpoints"`
	Global       string  `json:"global_overrides"`
	Seconds      float64 `json:"window_seconds"`
	AskedPerSec  float64 `json:"probes_asked_per_second"`
	ProbesPerSec float64 `json:"probes_per_second"`
	SuccessRatio float64 `json:"success_ratio"`
	Skipped      float64 `json:"skipped_runs"`
	SkippedShare float64 `json:"skipped_share_of_due"`
	LagP50       float64 `json:"lag_p50_seconds"`
	LagP99       float64 `json:"lag_p99_seconds"`
	LagMax       float64 `json:"lag_max_bucket_seconds"`
	// The lag histogram of kind="endpoint" also holds each endpoint's
	// resolution (one per interval, never waiting for a host slot, so in
	// the lowest buckets): these are the quantiles without them.
	ProbeLagP50    float64 `json:"probe_lag_p50_seconds"`
	ProbeLagP99    float64 `json:"probe_lag_p99_seconds"`
	Overloaded     []int   `json:"overloaded_per_scrape"`
	ProbeMean      float64 `json:"probe_duration_mean_seconds"`
	ProbeP99       float64 `json:"probe_duration_p99_seconds"`
	ServerConnMean float64 `json:"server_connections_mean"`
	ServerConnPeak int     `json:"server_connections_peak_per_address"`
	ClientConnPeak int     `json:"exporter_connections_peak_per_address"`
	ServerDuration float64 `json:"server_connection_seconds"` // Little's law: mean connections / arrivals per second
	PeakRSSKB      int64   `json:"peak_rss_kb"`
	RSSKB          int64   `json:"rss_kb_end"`
	ExporterCores  float64 `json:"exporter_cores"`
	MachineCores   float64 `json:"machine_busy_cores"`
	LoadStart      string  `json:"loadavg_start"`
	LoadEnd        string  `json:"loadavg_end"`
	// CPU seconds in the window by command, busiest first: who else ran.
	TopCPU string `json:"cpu_seconds_by_command"`
}

func runReal(args []string) int {
	fs := flag.NewFlagSet("real", flag.ExitOnError)
	o := &realOpts{}
	sizes := fs.String("sizes", "8000,10000", "endpoint counts, comma-separated")
	fs.StringVar(&o.exporter, "exporter", "", "path to the built mail_exporter binary (required)")
	fs.StringVar(&o.peers, "peers", "", "the JSON that collector/internal/peers/mailpeers writes (required)")
	fs.DurationVar(&o.interval, "interval", time.Minute, "interval of every endpoint")
	fs.DurationVar(&o.warmup, "warmup", time.Minute, "time after start before measuring (first runs are spread over one interval)")
	fs.DurationVar(&o.duration, "duration", 3*time.Minute, "measurement window per size")
	fs.DurationVar(&o.scrapeEvery, "scrape-interval", 15*time.Second, "read mail_exporter_overloaded this often")
	fs.StringVar(&o.global, "global", "", `extra keys for global:, e.g. "host_concurrency: 16, concurrency: 128" (default: the exporter's defaults)`)
	fs.StringVar(&o.workdir, "workdir", "", "directory for configs and logs (default: a new temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the workdir")
	fs.StringVar(&o.jsonOut, "json", "", "also write the figures to this JSON file")
	addrs := fs.String("addresses", "127.0.0.1,127.0.0.2", "the Dovecot addresses the endpoints are spread over")
	_ = fs.Parse(args)
	if o.exporter == "" || o.peers == "" {
		fmt.Fprintln(os.Stderr, "mail_loadtest real: --exporter and --peers are required (see README.md)")
		return 2
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "mail_loadtest real: bad --sizes entry %q\n", s)
			return 2
		}
		o.sizes = append(o.sizes, n)
	}
	o.addrs = strings.Split(*addrs, ",")
	var mp mailpeersInfo
	b, err := os.ReadFile(o.peers)
	if err == nil {
		err = json.Unmarshal(b, &mp)
	}
	if err != nil || mp.Ports["imaps"] == 0 || mp.Ports["pop3s"] == 0 || mp.CAFile == "" {
		fmt.Fprintf(os.Stderr, "mail_loadtest real: %s: need ports.imaps, ports.pop3s and ca_file (%v)\n", o.peers, err)
		return 2
	}
	if o.workdir == "" {
		if o.workdir, err = os.MkdirTemp("", "mail_loadtest-real-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if !o.keep {
			defer os.RemoveAll(o.workdir)
		}
	}
	var out []realResult
	for _, n := range o.sizes {
		logf("real Dovecot, %d endpoints (IMAPS/POP3S, no login) on %v at %v; global overrides: %q", n, o.addrs, o.interval, o.global)
		r, err := o.measure(n, mp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mail_loadtest real:", err)
			return 1
		}
		out = append(out, *r)
		printReal(os.Stderr, []realResult{*r})
	}
	if o.jsonOut != "" {
		// The table printed below keeps +Inf: write a copy.
		js := slices.Clone(out)
		for i := range js { // JSON has no infinity: the +Inf bucket is written as -1
			for _, f := range []*float64{&js[i].LagMax, &js[i].LagP99, &js[i].ProbeLagP99, &js[i].LagP50, &js[i].ProbeLagP50} {
				if math.IsInf(*f, 0) || math.IsNaN(*f) {
					*f = -1
				}
			}
		}
		b, err := json.MarshalIndent(js, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonOut, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mail_loadtest real: --json:", err)
		}
	}
	printReal(os.Stdout, out)
	if o.keep {
		logf("workdir kept: %s", o.workdir)
	}
	return 0
}

// writeTargets: n servers, one endpoint each, alternating IMAPS and POP3S
// and the addresses; everything else at the exporter's defaults.
func (o *realOpts) writeTargets(path string, n int, mp mailpeersInfo) error {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  interval: %s\n  ehlo_name: %s\n", o.interval, ehloName)
	if o.interval <= 15*time.Second { // the default timeout must stay below the interval
		fmt.Fprintf(&b, "  timeout: %s\n", o.interval/2)
	}
	for _, kv := range strings.Split(o.global, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			fmt.Fprintf(&b, "  %s\n", kv)
		}
	}
	b.WriteString("servers:\n")
	for i := range n {
		ep, port := "imaps", mp.Ports["imaps"]
		if i%2 == 1 {
			ep, port = "pop3s", mp.Ports["pop3s"]
		}
		addr := o.addrs[(i/2)%len(o.addrs)]
		fmt.Fprintf(&b, "  - {name: d%05d, host: %s, tls_server_name: %s, ca_file: %s, endpoints: [{name: %s, port: %d, credential: none}]}\n",
			i, addr, mp.ServerName, mp.CAFile, ep, port)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func (o *realOpts) measure(n int, mp mailpeersInfo) (*realResult, error) {
	dir := filepath.Join(o.workdir, fmt.Sprintf("real-%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "targets.yaml")
	if err := o.writeTargets(cfg, n, mp); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	c, err := startChild("mail_exporter", filepath.Join(dir, "exporter.log"), nil, nil, o.exporter,
		"--config.file="+cfg, "--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn", "--log.format=logfmt")
	if err != nil {
		return nil, err
	}
	defer c.stop()
	client := &http.Client{Timeout: time.Minute}
	if err := waitReady(client, base+"/-/ready", c, time.Minute); err != nil {
		return nil, fmt.Errorf("mail_exporter (log in %s): %w", dir, err)
	}
	time.Sleep(o.warmup)

	var listeners []string
	for _, a := range o.addrs {
		listeners = append(listeners, fmt.Sprintf("%s:%d", a, mp.Ports["imaps"]), fmt.Sprintf("%s:%d", a, mp.Ports["pop3s"]))
	}
	sampler := startConnSampler(listeners, o.addrs, 50*time.Millisecond)
	r := &realResult{Endpoints: n, Global: o.global, LoadStart: loadavg(), AskedPerSec: float64(n) / o.interval.Seconds()}
	first, err := realScrape(client, base+"/metrics")
	if err != nil {
		return nil, err
	}
	cpu0, busy0, t0, procs0 := cpuOf(c.pid()), machineBusy(), time.Now(), readProcTimes()
	r.Overloaded = append(r.Overloaded, int(first.overloaded))
	last := first
	for end := t0.Add(o.duration); time.Now().Before(end); {
		time.Sleep(min(o.scrapeEvery, time.Until(end)))
		if c.exited() {
			return nil, fmt.Errorf("mail_exporter exited (log in %s)", dir)
		}
		if last, err = realScrape(client, base+"/metrics"); err != nil {
			return nil, err
		}
		r.Overloaded = append(r.Overloaded, int(last.overloaded))
	}
	cpu1, busy1, t1 := cpuOf(c.pid()), machineBusy(), time.Now()
	mean, peak, cpeak := sampler.stop()
	r.TopCPU = topOthers(procs0, readProcTimes(), 10)
	r.LoadEnd = loadavg()
	r.Seconds = t1.Sub(t0).Seconds()
	probes := (last.ok + last.fail) - (first.ok + first.fail)
	if probes <= 0 {
		return nil, fmt.Errorf("no probes ran in the window (log in %s)", dir)
	}
	r.ProbesPerSec = probes / r.Seconds
	r.SuccessRatio = (last.ok - first.ok) / probes
	r.Skipped = last.skipped - first.skipped
	r.SkippedShare = r.Skipped / (r.AskedPerSec * r.Seconds)
	lag := last.lag.sub(first.lag)
	r.LagP50, r.LagP99, r.LagMax = lag.quantile(0.5), lag.quantile(0.99), maxBucket(lag)
	resolutions := float64(n) * r.Seconds / o.interval.Seconds()
	probeLag := histogram{}
	for le, c := range lag {
		probeLag[le] = math.Max(0, c-resolutions)
	}
	r.ProbeLagP50, r.ProbeLagP99 = probeLag.quantile(0.5), probeLag.quantile(0.99)
	r.ProbeMean, r.ProbeP99 = meanP99(last.durations)
	r.ServerConnMean, r.ServerConnPeak, r.ClientConnPeak = mean, peak, cpeak
	r.ServerDuration = mean / r.ProbesPerSec
	r.PeakRSSKB, _ = memKB(c.pid(), "VmHWM")
	r.RSSKB, _ = memKB(c.pid(), "VmRSS")
	r.ExporterCores = (cpu1 - cpu0) / r.Seconds
	r.MachineCores = (busy1 - busy0) / r.Seconds
	return r, nil
}

func cpuOf(pid int) float64 {
	v, _ := cpuSeconds(pid)
	return v
}

func meanP99(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return sum / float64(len(s)), s[min(len(s)-1, int(math.Ceil(0.99*float64(len(s))))-1)]
}

// realScrapeResult is what one /metrics read gives.
type realScrapeResult struct {
	ok, fail, skipped, overloaded float64
	lag                           histogram
	durations                     []float64 // mail_probe_duration_seconds of every endpoint's last run
}

func realScrape(client *http.Client, url string) (*realScrapeResult, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	s := &realScrapeResult{lag: histogram{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte("mail_exporter_checks_total{")):
			if l, v := parseSample(line); l["kind"] == "endpoint" {
				if l["result"] == "success" {
					s.ok = v
				} else {
					s.fail = v
				}
			}
		case bytes.HasPrefix(line, []byte("mail_exporter_schedule_skipped_total{")):
			if l, v := parseSample(line); l["kind"] == "endpoint" {
				s.skipped = v
			}
		case bytes.HasPrefix(line, []byte("mail_exporter_overloaded ")):
			s.overloaded, _ = strconv.ParseFloat(strings.TrimSpace(string(line[len("mail_exporter_overloaded "):])), 64)
		case bytes.HasPrefix(line, []byte("mail_exporter_schedule_lag_seconds_bucket{")):
			if l, v := parseSample(line); l["kind"] == "endpoint" {
				if le, err := strconv.ParseFloat(l["le"], 64); err == nil {
					s.lag[le] = v
				}
			}
		case bytes.HasPrefix(line, []byte("mail_probe_duration_seconds{")):
			if _, v := parseSample(line); !math.IsNaN(v) {
				s.durations = append(s.durations, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return s, nil
}

func printReal(w io.Writer, rs []realResult) {
	fmt.Fprintln(w, "endpoints  asked/s  done/s  success  skipped(share)  lag p50/p99/max-bucket  probe lag p50/p99  overloaded(per scrape)  probe mean/p99 (exporter)  at server: conns mean, peak/address (exporter's ends), s/conn  RSS end/peak MB  exporter cores  machine busy cores  load start -> end")
	for _, r := range rs {
		fmt.Fprintf(w, "%9d  %7.1f  %6.1f  %7.4f  %7.0f(%4.1f%%)  %6.3fs/%6.3fs/%gs  %6.3fs/%6.3fs  %v  %.3fs/%.3fs  %.2f, %d (%d), %.3fs  %d/%d  %.2f  %.2f  %s -> %s\n",
			r.Endpoints, r.AskedPerSec, r.ProbesPerSec, r.SuccessRatio, r.Skipped, 100*r.SkippedShare,
			r.LagP50, r.LagP99, r.LagMax, r.ProbeLagP50, r.ProbeLagP99, r.Overloaded, r.ProbeMean, r.ProbeP99,
			r.ServerConnMean, r.ServerConnPeak, r.ClientConnPeak, r.ServerDuration, r.RSSKB/1024, r.PeakRSSKB/1024,
			r.ExporterCores, r.MachineCores, r.LoadStart, r.LoadEnd)
		fmt.Fprintf(w, "           CPU in the window by command: %s\n", r.TopCPU)
	}
}
