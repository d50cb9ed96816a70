package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type loadOpts struct {
	exporter, blackbox string
	sizes              []int
	interval, timeout  time.Duration
	warmup, duration   time.Duration
	baseWarmup         time.Duration
	baseDuration       time.Duration
	scrapeEvery        time.Duration
	concurrency        int
	implicitShare      float64
	greetingDelay      time.Duration
	delayedInterval    time.Duration
	runs               int
	workdir            string
	keep, floor, bbOn  bool
	floorX25519        bool
	jsonOut            string
	exporterArgs       string
	self               string
	farm               *farmInfo
	farmChild          *child
	selfPID, farmPID   int
	stopping           chan os.Signal
}

// exporterResult is one measurement of mail_exporter at one size.
type exporterResult struct {
	Endpoints        int       `json:"endpoints"`
	Seconds          float64   `json:"window_seconds"`
	ProbesPerSec     float64   `json:"probes_per_second"`
	SuccessRatio     float64   `json:"success_ratio"`
	CPUPerProbe      float64   `json:"cpu_seconds_per_probe"`
	CPUPerProbeNoScr float64   `json:"cpu_seconds_per_probe_excluding_scrapes"`
	WindowCPU        []float64 `json:"window_cpu_seconds_per_probe"`
	LagP50           float64   `json:"lag_p50_seconds"`
	LagP99           float64   `json:"lag_p99_seconds"`
	LagMax           float64   `json:"lag_max_bucket_seconds"` // upper bound of the highest non-empty bucket
	PeakRSSKB        int64     `json:"peak_rss_kb"`
	ScrapeP50        float64   `json:"scrape_gzip_p50_seconds"`
	ScrapeMax        float64   `json:"scrape_gzip_max_seconds"`
	ScrapePlain      float64   `json:"scrape_identity_p50_seconds"`
	ScrapeCPU        float64   `json:"scrape_cpu_seconds_mean"`
	WireBytes        int       `json:"scrape_gzip_bytes"`
	RawBytes         int       `json:"scrape_bytes"`
	Series           int       `json:"series"`
	Greeting         []float64 `json:"delayed_greeting_seconds"`
	OthersCPU        float64   `json:"other_processes_cores"` // machine busy minus our processes
	Load1            float64   `json:"loadavg1_end"`
}

// baselineResult is one measurement of the floor or blackbox_exporter.
type baselineResult struct {
	Name         string  `json:"name"`
	Endpoints    int     `json:"endpoints"`
	Seconds      float64 `json:"window_seconds"`
	ProbesPerSec float64 `json:"probes_per_second"`
	SuccessRatio float64 `json:"success_ratio"`
	CPUPerProbe  float64 `json:"cpu_seconds_per_probe"`
	PeakRSSKB    int64   `json:"peak_rss_kb"`
	OthersCPU    float64 `json:"other_processes_cores"`
	Err          string  `json:"error,omitempty"`
}

func runLoad(args []string) int {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	o := &loadOpts{}
	sizes := fs.String("sizes", "1000,5000,10000", "endpoint counts to measure, comma-separated")
	fs.StringVar(&o.exporter, "exporter", "", "path to the built mail_exporter binary (required)")
	fs.StringVar(&o.blackbox, "blackbox", "prometheus-blackbox-exporter", "blackbox_exporter binary; \"\" skips that baseline")
	fs.BoolVar(&o.floor, "floor", true, "run the floor baseline")
	fs.BoolVar(&o.floorX25519, "floor-x25519", false, "also run the floor offering only X25519 (no post-quantum hybrid), to show what that costs")
	fs.DurationVar(&o.interval, "interval", time.Minute, "probe interval of every endpoint")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "probe timeout")
	fs.DurationVar(&o.warmup, "warmup", 30*time.Second, "exporter: time after start before measuring")
	fs.DurationVar(&o.duration, "duration", 3*time.Minute, "exporter: measurement window per size")
	fs.DurationVar(&o.baseWarmup, "baseline-warmup", 10*time.Second, "baselines: time after start before measuring")
	fs.DurationVar(&o.baseDuration, "baseline-duration", 90*time.Second, "baselines: measurement window per size")
	fs.DurationVar(&o.scrapeEvery, "scrape-interval", 15*time.Second, "GET /metrics this often during the window, as Prometheus would")
	fs.IntVar(&o.concurrency, "concurrency", 64, "probes in flight at most (exporter's global.concurrency, floor, blackbox driver)")
	fs.Float64Var(&o.implicitShare, "implicit-share", 0, "share of endpoints on implicit-TLS listeners (0: all STARTTLS, like the baselines)")
	fs.DurationVar(&o.greetingDelay, "greeting-delay", 200*time.Millisecond, "greeting delay of the extra 'delayed' server")
	fs.DurationVar(&o.delayedInterval, "delayed-interval", 5*time.Second, "probe interval of the delayed server")
	fs.IntVar(&o.runs, "runs", 1, "repeat every size this many times; the table shows medians")
	fs.StringVar(&o.workdir, "workdir", "", "directory for configs and logs (default: a new temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the workdir")
	fs.StringVar(&o.jsonOut, "json", "", "also write every measurement to this JSON file")
	fs.StringVar(&o.exporterArgs, "exporter-args", "", "extra arguments for mail_exporter, space-separated")
	_ = fs.Parse(args)
	if o.exporter == "" {
		fmt.Fprintln(os.Stderr, "mail_loadtest: --exporter=PATH is required (go build -o mail_exporter ./cmd/mail_exporter)")
		return 2
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "mail_loadtest: bad --sizes entry %q\n", s)
			return 2
		}
		o.sizes = append(o.sizes, n)
	}
	if o.blackbox != "" {
		p, err := exec.LookPath(o.blackbox)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mail_loadtest: blackbox_exporter %q not found (apt-get install prometheus-blackbox-exporter, or --blackbox=\"\")\n", o.blackbox)
			return 2
		}
		o.blackbox, o.bbOn = p, true
	}
	var err error
	if o.self, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
		return 1
	}
	if o.workdir == "" {
		if o.workdir, err = os.MkdirTemp("", "mail_loadtest-"); err != nil {
			fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
			return 1
		}
		if !o.keep {
			defer os.RemoveAll(o.workdir)
		}
	} else if err := os.MkdirAll(o.workdir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
		return 1
	}
	o.selfPID = os.Getpid()
	o.stopping = make(chan os.Signal, 1)
	signal.Notify(o.stopping, os.Interrupt, syscall.SIGTERM)

	if err := o.startFarm(); err != nil {
		fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
		return 1
	}
	defer o.farmChild.stop()

	var exps []exporterResult
	var bases []baselineResult
	for run := 1; run <= o.runs; run++ {
		for _, n := range o.sizes {
			logf("run %d/%d, %d endpoints: mail_exporter", run, o.runs, n)
			r, err := o.measureExporter(n, run)
			if err != nil {
				fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
				return 1
			}
			exps = append(exps, *r)
			printExporter(os.Stderr, []exporterResult{*r})
			if o.floor {
				logf("run %d/%d, %d endpoints: floor", run, o.runs, n)
				b := o.measureFloor(n)
				bases = append(bases, b)
				logf("  floor: %.1f probes/s, %.0f µs CPU/probe, ok %.1f%% %s", b.ProbesPerSec, b.CPUPerProbe*1e6, b.SuccessRatio*100, b.Err)
			}
			if o.floorX25519 {
				logf("run %d/%d, %d endpoints: floor, X25519 only", run, o.runs, n)
				b := o.measureFloor(n, "--x25519")
				bases = append(bases, b)
				logf("  floor-x25519: %.1f probes/s, %.0f µs CPU/probe, ok %.1f%% %s", b.ProbesPerSec, b.CPUPerProbe*1e6, b.SuccessRatio*100, b.Err)
			}
			if o.bbOn {
				logf("run %d/%d, %d endpoints: blackbox_exporter", run, o.runs, n)
				b := o.measureBlackbox(n)
				bases = append(bases, b)
				logf("  blackbox: %.1f probes/s, %.0f µs CPU/probe, ok %.1f%% %s", b.ProbesPerSec, b.CPUPerProbe*1e6, b.SuccessRatio*100, b.Err)
			}
			if o.interrupted() {
				logf("interrupted")
				return 1
			}
		}
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"exporter": exps, "baselines": bases}, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
		}
	}
	report(os.Stdout, o, exps, bases)
	if o.keep {
		logf("workdir kept: %s", o.workdir)
	}
	return 0
}

func (o *loadOpts) interrupted() bool {
	select {
	case s := <-o.stopping:
		o.stopping <- s
		return true
	default:
		return false
	}
}

// sleep waits d unless interrupted.
func (o *loadOpts) sleep(d time.Duration) bool {
	select {
	case s := <-o.stopping:
		o.stopping <- s
		return false
	case <-time.After(d):
		return true
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s  [load %s]\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...), loadavg())
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (o *loadOpts) startFarm() error {
	maxN := slices.Max(o.sizes)
	nImpl := int(math.Round(float64(maxN) * o.implicitShare))
	_ = os.Remove(filepath.Join(o.workdir, "farm.json"))
	logf("starting the farm: %d STARTTLS + %d implicit-TLS listeners + 1 delayed (%v)", maxN, nImpl, o.greetingDelay)
	c, err := startChild("farm", filepath.Join(o.workdir, "farm.log"), nil, nil, o.self, "farm",
		"--dir="+o.workdir, "--listeners="+strconv.Itoa(maxN), "--implicit-listeners="+strconv.Itoa(nImpl),
		"--greeting-delay="+o.greetingDelay.String())
	if err != nil {
		return err
	}
	o.farmChild = c
	deadline := time.Now().Add(2 * time.Minute)
	for {
		fi, err := readFarmInfo(filepath.Join(o.workdir, "farm.json"))
		if err == nil {
			o.farm, o.farmPID = fi, c.pid()
			break
		}
		if c.exited() || time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(o.workdir, "farm.log"))
			return fmt.Errorf("the farm did not start: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return os.WriteFile(filepath.Join(o.workdir, "password"), []byte(farmPassword+"\n"), 0o600)
}

// writeTargets writes targets.yaml for n farm endpoints plus the delayed one.
func (o *loadOpts) writeTargets(path string, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  interval: %s\n  timeout: %s\n  concurrency: %d\n  ehlo_name: %s\n  ca_file: %s\n",
		o.interval, min(o.timeout, o.interval/2), o.concurrency, ehloName, o.farm.CAFile)
	fmt.Fprintf(&b, "credentials:\n  monitor: {username: %s, password_file: %s}\nservers:\n",
		farmUser, filepath.Join(o.workdir, "password"))
	nImpl := int(math.Round(float64(n) * o.implicitShare))
	if nImpl > len(o.farm.Implicit) || n-nImpl > len(o.farm.StartTLS) {
		return fmt.Errorf("the farm has too few listeners for %d endpoints", n)
	}
	for i := range n {
		ep := fmt.Sprintf("{name: submission, port: %d}", o.farm.StartTLS[i-min(i, nImpl)])
		if i < nImpl {
			ep = fmt.Sprintf("{name: submissions, port: %d}", o.farm.Implicit[i])
		}
		fmt.Fprintf(&b, "  - {name: farm%05d, host: 127.0.0.1, tls_server_name: %s, credential: monitor, labels: {site: farm}, endpoints: [%s]}\n",
			i, farmName, ep)
	}
	dt := min(o.timeout, o.delayedInterval*4/5)
	fmt.Fprintf(&b, "  - {name: delayed, host: 127.0.0.1, tls_server_name: %s, credential: monitor, labels: {site: farm}, interval: %s, endpoints: [{name: submission, port: %d, timeout: %s}]}\n",
		farmName, o.delayedInterval, o.farm.Delayed, dt)
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// cpuSnap is the CPU time of our processes and of the whole machine.
type cpuSnap struct {
	at                 time.Time
	target, farm, self float64
	machineBusy        float64 // seconds of all cores
}

func (o *loadOpts) snap(pid int) cpuSnap {
	s := cpuSnap{at: time.Now()}
	s.target, _ = cpuSeconds(pid)
	s.farm, _ = cpuSeconds(o.farmPID)
	s.self, _ = cpuSeconds(o.selfPID)
	s.machineBusy = machineBusy()
	return s
}

// othersCores is how many cores processes other than ours kept busy.
func othersCores(a, b cpuSnap, extra float64) float64 {
	dt := b.at.Sub(a.at).Seconds()
	ours := (b.target - a.target) + (b.farm - a.farm) + (b.self - a.self) + extra
	return math.Max(0, (b.machineBusy-a.machineBusy)-ours) / dt
}

// machineBusy is the non-idle CPU time of all cores, from /proc/stat.
func machineBusy() float64 {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var total, idle float64
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += x
		if i == 3 || i == 4 { // idle, iowait
			idle += x
		}
	}
	return (total - idle) / clockTicks
}

func (o *loadOpts) measureExporter(n, run int) (*exporterResult, error) {
	dir := filepath.Join(o.workdir, fmt.Sprintf("exporter-%d-%d", n, run))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "targets.yaml")
	if err := o.writeTargets(cfgPath, n); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	argv := []string{o.exporter, "--config.file=" + cfgPath, "--web.listen-address=127.0.0.1:" + strconv.Itoa(port),
		"--log.level=warn", "--log.format=logfmt"}
	if o.exporterArgs != "" {
		argv = append(argv, strings.Fields(o.exporterArgs)...)
	}
	c, err := startChild("mail_exporter", filepath.Join(dir, "exporter.log"), nil, nil, argv...)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	if err := waitReady(client, base+"/-/ready", c, time.Minute); err != nil {
		return nil, fmt.Errorf("mail_exporter (log in %s): %w", dir, err)
	}
	if !o.sleep(o.warmup) {
		return nil, errors.New("interrupted")
	}

	type point struct {
		before, after cpuSnap
		s             *scrape
	}
	var pts []point
	take := func() error {
		before := o.snap(c.pid())
		s, err := scrapeExporter(client, base+"/metrics", true, "delayed")
		after := o.snap(c.pid())
		if err != nil {
			return err
		}
		pts = append(pts, point{before, after, s})
		return nil
	}
	if err := take(); err != nil {
		return nil, err
	}
	end := pts[0].after.at.Add(o.duration)
	for time.Now().Before(end) {
		wait := min(o.scrapeEvery, time.Until(end))
		if !o.sleep(wait) {
			return nil, errors.New("interrupted")
		}
		if c.exited() {
			return nil, fmt.Errorf("mail_exporter exited (log in %s)", dir)
		}
		if err := take(); err != nil {
			return nil, err
		}
	}
	r := &exporterResult{Endpoints: n, Load1: load1()}
	r.PeakRSSKB, _ = memKB(c.pid(), "VmHWM")
	var plain []float64
	for range 3 {
		if s, err := scrapeExporter(client, base+"/metrics", false, "delayed"); err == nil {
			plain = append(plain, s.took.Seconds())
		}
	}
	r.ScrapePlain = median(plain)

	first, last := pts[0], pts[len(pts)-1]
	r.Seconds = last.after.at.Sub(first.after.at).Seconds()
	probes := (last.s.checksOK + last.s.checksFail) - (first.s.checksOK + first.s.checksFail)
	if probes <= 0 {
		return nil, fmt.Errorf("no probes ran in the window (log in %s)", dir)
	}
	r.ProbesPerSec = probes / r.Seconds
	r.SuccessRatio = (last.s.checksOK - first.s.checksOK) / probes
	cpu := last.after.target - first.after.target
	r.CPUPerProbe = cpu / probes
	var scrapeCPU float64
	var times []float64
	seen := map[float64]bool{}
	for i, p := range pts {
		times = append(times, p.s.took.Seconds())
		if !math.IsNaN(p.s.greeting) && !seen[p.s.delayedRun] {
			seen[p.s.delayedRun] = true
			r.Greeting = append(r.Greeting, p.s.greeting)
		}
		if i == 0 {
			continue
		}
		scrapeCPU += p.after.target - p.before.target
		prev := pts[i-1]
		if dp := (p.s.checksOK + p.s.checksFail) - (prev.s.checksOK + prev.s.checksFail); dp > 0 {
			r.WindowCPU = append(r.WindowCPU, (p.after.target-prev.after.target)/dp)
		}
	}
	if len(pts) > 1 {
		r.ScrapeCPU = scrapeCPU / float64(len(pts)-1)
	}
	r.CPUPerProbeNoScr = (cpu - scrapeCPU) / probes
	r.ScrapeP50, r.ScrapeMax = median(times), slices.Max(times)
	r.WireBytes, r.RawBytes, r.Series = last.s.wireBytes, last.s.rawBytes, last.s.series
	lag := last.s.lag.sub(first.s.lag)
	r.LagP50, r.LagP99 = lag.quantile(0.5), lag.quantile(0.99)
	r.LagMax = maxBucket(lag)
	r.OthersCPU = othersCores(first.after, last.after, 0)
	return r, nil
}

func load1() float64 {
	f := strings.Fields(loadavg())
	if len(f) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// maxBucket is the upper bound of the highest bucket that gained counts.
func maxBucket(h histogram) float64 {
	les := make([]float64, 0, len(h))
	for le := range h {
		les = append(les, le)
	}
	slices.Sort(les)
	prev := 0.0
	out := 0.0
	for _, le := range les {
		if h[le] > prev {
			out = le
		}
		prev = h[le]
	}
	return out
}

func waitReady(client *http.Client, url string, c *child, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c.exited() {
			return errors.New("exited before it was ready")
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v", limit)
}

// measureBaseline runs one baseline process for the baseline window;
// counts returns its probes and failures so far.
func (o *loadOpts) measureBaseline(name string, n int, c *child, counts func() (int64, int64)) baselineResult {
	r := baselineResult{Name: name, Endpoints: n}
	if !o.sleep(o.baseWarmup) {
		r.Err = "interrupted"
		return r
	}
	p0, f0 := counts()
	s0 := o.snap(c.pid())
	if !o.sleep(o.baseDuration) {
		r.Err = "interrupted"
		return r
	}
	p1, f1 := counts()
	s1 := o.snap(c.pid())
	r.PeakRSSKB, _ = memKB(c.pid(), "VmHWM")
	if c.exited() {
		r.Err = name + " exited"
		return r
	}
	r.Seconds = s1.at.Sub(s0.at).Seconds()
	probes := float64(p1 - p0)
	if probes <= 0 {
		r.Err = "no probes"
		return r
	}
	r.ProbesPerSec = probes / r.Seconds
	r.SuccessRatio = 1 - float64(f1-f0)/probes
	r.CPUPerProbe = (s1.target - s0.target) / probes
	r.OthersCPU = othersCores(s0, s1, 0)
	return r
}

// measureFloor runs the floor; with extra "--x25519" it is the
// "floor-x25519" variant.
func (o *loadOpts) measureFloor(n int, extra ...string) baselineResult {
	name := "floor"
	if len(extra) > 0 {
		name = "floor-x25519"
	}
	counter := &lineCounter{}
	argv := append([]string{o.self, "floor", "--farm=" + filepath.Join(o.workdir, "farm.json"), "--endpoints=" + strconv.Itoa(n),
		"--interval=" + o.interval.String(), "--concurrency=" + strconv.Itoa(o.concurrency), "--timeout=" + o.timeout.String()}, extra...)
	c, err := startChild(name, filepath.Join(o.workdir, fmt.Sprintf("%s-%d.log", name, n)), counter, nil, argv...)
	if err != nil {
		return baselineResult{Name: name, Endpoints: n, Err: err.Error()}
	}
	defer c.stop()
	return o.measureBaseline(name, n, c, counter.get)
}

func (o *loadOpts) measureBlackbox(n int) baselineResult {
	r := baselineResult{Name: "blackbox", Endpoints: n}
	cfg := filepath.Join(o.workdir, "blackbox.yml")
	if err := writeBlackboxConfig(cfg, o.farm.CAFile, o.timeout); err != nil {
		r.Err = err.Error()
		return r
	}
	port, err := freePort()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	c, err := startChild("blackbox", filepath.Join(o.workdir, fmt.Sprintf("blackbox-%d.log", n)), nil, nil,
		o.blackbox, "--config.file="+cfg, "--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer c.stop()
	if err := waitReady(&http.Client{Timeout: 5 * time.Second}, base+"/-/healthy", c, 30*time.Second); err != nil {
		r.Err = "blackbox_exporter: " + err.Error()
		return r
	}
	ports := o.farm.StartTLS[:n]
	d := startDriver(base, ports, o.interval, o.concurrency, o.timeout)
	defer d.halt()
	r = o.measureBaseline("blackbox", n, c, d.get)
	if e, ok := d.firstErr.Load().(string); ok && r.Err == "" && r.SuccessRatio < 1 {
		r.Err = "first failure: " + e
	}
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
