package main

import (
	"bytes"
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
	cert               string
	realServer         string
	delayedInterval    time.Duration
	runs               int
	workdir            string
	keep, floor, bbOn  bool
	paired             bool
	floorX25519        bool
	jsonOut            string
	exporterArgs       string
	exporterEnv        string
	self               string
	farm               *farmInfo
	farmChild          *child
	selfPID, farmPID   int
	stopping           chan os.Signal
}

// exporterResult is one measurement of mail_exporter at one size.
type exporterResult struct {
	Endpoints        int       `json:"endpoints"`
	Run              int       `json:"run"`
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
	OthersCPU        float64   `json:"other_processes_cores"` // machine busy minus our processes, window mean
	OthersMax        float64   `json:"other_processes_cores_max"`
	Load1            float64   `json:"loadavg1_end"`
	// The floor running in the same window (--paired), else zero.
	Floor *baselineResult `json:"paired_floor,omitempty"`
}

// baselineResult is one measurement of the floor or blackbox_exporter.
type baselineResult struct {
	Name         string  `json:"name"`
	Endpoints    int     `json:"endpoints"`
	Run          int     `json:"run"`
	Seconds      float64 `json:"window_seconds"`
	ProbesPerSec float64 `json:"probes_per_second"`
	SuccessRatio float64 `json:"success_ratio"`
	CPUPerProbe  float64 `json:"cpu_seconds_per_probe"`
	PeakRSSKB    int64   `json:"peak_rss_kb"`
	OthersCPU    float64 `json:"other_processes_cores"`
	Err          string  `json:"error,omitempty"`
	// The floor running in the same window (--paired), else nil.
	Floor *baselineResult `json:"paired_floor,omitempty"`
}

func runLoad(args []string) int {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	o := &loadOpts{}
	sizes := fs.String("sizes", "1000,5000,10000", "endpoint counts to measure, comma-separated")
	fs.StringVar(&o.exporter, "exporter", "", "path to the built mail_exporter binary (required)")
	fs.StringVar(&o.blackbox, "blackbox", "prometheus-blackbox-exporter", "blackbox_exporter binary; \"\" skips that baseline")
	fs.BoolVar(&o.floor, "floor", true, "run the floor baseline")
	fs.BoolVar(&o.floorX25519, "floor-x25519", false, "the floor offers only X25519 (mail_loadtest floor --x25519): like for like on the key exchange with a server that turned the post-quantum hybrid down, which mail_exporter then no longer offers")
	fs.BoolVar(&o.paired, "paired", true, "run the floor in the same window as mail_exporter and as blackbox_exporter, so that CPU ratios compare like with like on a machine whose speed drifts; false: the floor gets its own window")
	fs.DurationVar(&o.interval, "interval", time.Minute, "probe interval of every endpoint")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "probe timeout")
	fs.DurationVar(&o.warmup, "warmup", 30*time.Second, "exporter: time after start before measuring")
	fs.DurationVar(&o.duration, "duration", 3*time.Minute, "exporter: measurement window per size")
	fs.DurationVar(&o.baseWarmup, "baseline-warmup", 10*time.Second, "baselines: time after start before measuring")
	fs.DurationVar(&o.baseDuration, "baseline-duration", 90*time.Second, "baselines: measurement window per size")
	fs.DurationVar(&o.scrapeEvery, "scrape-interval", 15*time.Second, "GET /metrics this often during the window, as Prometheus would")
	fs.IntVar(&o.concurrency, "concurrency", 64, "probes in flight at most (exporter's global.concurrency, floor, blackbox driver)")
	fs.Float64Var(&o.implicitShare, "implicit-share", 0, "share of endpoints on implicit-TLS listeners (0: all STARTTLS, like the baselines)")
	fs.StringVar(&o.realServer, "real-server", "", "probe a real server instead of the farm: the JSON that collector/internal/peers/mailpeers writes (every endpoint is its submission port, STARTTLS + AUTH PLAIN); --cert is then mailpeers' choice")
	fs.StringVar(&o.cert, "cert", certECDSA, "certificate case the farm presents: "+strings.Join(certCases, " | "))
	fs.DurationVar(&o.greetingDelay, "greeting-delay", 200*time.Millisecond, "greeting delay of the extra 'delayed' server")
	fs.DurationVar(&o.delayedInterval, "delayed-interval", 5*time.Second, "probe interval of the delayed server")
	fs.IntVar(&o.runs, "runs", 1, "repeat every size this many times; the table shows medians")
	fs.StringVar(&o.workdir, "workdir", "", "directory for configs and logs (default: a new temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the workdir")
	fs.StringVar(&o.jsonOut, "json", "", "also write every measurement to this JSON file")
	fs.StringVar(&o.exporterArgs, "exporter-args", "", "extra arguments for mail_exporter, space-separated")
	fs.StringVar(&o.exporterEnv, "exporter-env", "", "extra environment for mail_exporter, space-separated NAME=VALUE (e.g. GOGC=100)")
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
	o.paired = o.paired && o.floor
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

	if o.realServer != "" {
		if err := o.useRealServer(); err != nil {
			fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
			return 1
		}
	} else {
		if err := o.startFarm(); err != nil {
			fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
			return 1
		}
		defer o.farmChild.stop()
	}

	var exps []exporterResult
	var bases []baselineResult
	for run := 1; run <= o.runs; run++ {
		for _, n := range o.sizes {
			logf("run %d/%d, %d endpoints: mail_exporter%s", run, o.runs, n, pairedNote(o.paired))
			r, err := o.measureExporter(n, run)
			if err != nil {
				fmt.Fprintln(os.Stderr, "mail_loadtest:", err)
				return 1
			}
			exps = append(exps, *r)
			printExporter(os.Stderr, []exporterResult{*r})
			if o.floor && !o.paired {
				logf("run %d/%d, %d endpoints: floor", run, o.runs, n)
				b := o.measureFloorAlone(n, run)
				bases = append(bases, b)
				printBaseline(os.Stderr, b)
			}
			if o.bbOn {
				logf("run %d/%d, %d endpoints: blackbox_exporter%s", run, o.runs, n, pairedNote(o.paired))
				b := o.measureBlackbox(n, run)
				bases = append(bases, b)
				printBaseline(os.Stderr, b)
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

func pairedNote(paired bool) string {
	if paired {
		return " (with the floor in the same window)"
	}
	return ""
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

func load1() float64 {
	f := strings.Fields(loadavg())
	if len(f) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func (o *loadOpts) startFarm() error {
	maxN := slices.Max(o.sizes)
	nImpl := int(math.Round(float64(maxN) * o.implicitShare))
	_ = os.Remove(filepath.Join(o.workdir, "farm.json"))
	logf("starting the farm: %d STARTTLS + %d implicit-TLS listeners + 1 delayed (%v), certificate %s", maxN, nImpl, o.greetingDelay, o.cert)
	c, err := startChild("farm", filepath.Join(o.workdir, "farm.log"), nil, nil, o.self, "farm",
		"--dir="+o.workdir, "--listeners="+strconv.Itoa(maxN), "--implicit-listeners="+strconv.Itoa(nImpl),
		"--greeting-delay="+o.greetingDelay.String(), "--cert="+o.cert)
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
	return os.WriteFile(filepath.Join(o.workdir, "password"), []byte(o.farm.Password+"\n"), 0o600)
}

// writeTargets writes targets.yaml for n farm endpoints plus the delayed one.
func (o *loadOpts) writeTargets(path string, n int) error {
	var b strings.Builder
	// The resolver is a closed port on loopback: the load test sends nothing off the
	// machine, so the SMTP probes' PTR lookups (cached per address) fail at once.
	fmt.Fprintf(&b, "global:\n  interval: %s\n  timeout: %s\n  concurrency: %d\n  ehlo_name: %s\n  ca_file: %s\n  resolver: 127.0.0.1:9\n",
		o.interval, min(o.timeout, o.interval/2), o.concurrency, ehloName, o.farm.CAFile)
	fmt.Fprintf(&b, "credentials:\n  monitor: {username: %s, password_file: %s}\nservers:\n",
		o.farm.User, filepath.Join(o.workdir, "password"))
	nImpl := int(math.Round(float64(n) * o.implicitShare))
	if nImpl > len(o.farm.Implicit) || n-nImpl > len(o.farm.StartTLS) {
		return fmt.Errorf("the farm has too few listeners for %d endpoints", n)
	}
	for i := range n {
		ep := fmt.Sprintf("{name: submission, port: %d}", o.farm.StartTLS[i-min(i, nImpl)])
		if i < nImpl {
			ep = fmt.Sprintf("{name: submissions, port: %d}", o.farm.Implicit[i])
		}
		fmt.Fprintf(&b, "  - {name: farm%05d, host: %q, tls_server_name: %s, credential: monitor, labels: {site: farm}, endpoints: [%s]}\n",
			i, o.farm.Host, o.farm.ServerName, ep)
	}
	if o.farm.Delayed == 0 { // a real server has no delayed twin
		return os.WriteFile(path, []byte(b.String()), 0o600)
	}
	dt := min(o.timeout, o.delayedInterval*4/5)
	fmt.Fprintf(&b, "  - {name: delayed, host: 127.0.0.1, tls_server_name: %s, credential: monitor, labels: {site: farm}, interval: %s, endpoints: [{name: submission, port: %d, timeout: %s}]}\n",
		farmName, o.delayedInterval, o.farm.Delayed, dt)
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// cpuSnap is the CPU time of our processes and of the whole machine.
type cpuSnap struct {
	at                        time.Time
	target, floor, farm, self float64
	machineBusy               float64 // seconds, all cores
}

// snap reads the CPU time of pid (the process measured), of floorPID (0:
// none) and of the farm and the load test itself.
func (o *loadOpts) snap(pid, floorPID int) cpuSnap {
	s := cpuSnap{at: time.Now()}
	s.target, _ = cpuSeconds(pid)
	if floorPID > 0 {
		s.floor, _ = cpuSeconds(floorPID)
	}
	s.farm, _ = cpuSeconds(o.farmPID)
	s.self, _ = cpuSeconds(o.selfPID)
	s.machineBusy = machineBusy()
	return s
}

// othersCores is how many cores processes other than ours kept busy
// between a and b (other engineers' work, on a shared machine).
func othersCores(a, b cpuSnap) float64 {
	dt := b.at.Sub(a.at).Seconds()
	if dt <= 0 {
		return math.NaN()
	}
	ours := (b.target - a.target) + (b.floor - a.floor) + (b.farm - a.farm) + (b.self - a.self)
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
		if i >= 7 { // guest time is already in user; steal is not ours to count
			break
		}
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i == 3 || i == 4 { // idle, iowait
			idle += x
		}
	}
	return (total - idle) / clockTicks
}

// companion is the floor running alongside a measured process (--paired).
type companion struct {
	c       *child
	counter *lineCounter
}

func (o *loadOpts) startFloor(n int, logName string) (*companion, error) {
	counter := &lineCounter{}
	c, err := startChild("floor", filepath.Join(o.workdir, logName), counter, nil,
		o.floorArgs(n)...)
	if err != nil {
		return nil, err
	}
	return &companion{c: c, counter: counter}, nil
}

func (o *loadOpts) floorArgs(n int) []string {
	args := []string{o.self, "floor", "--farm=" + filepath.Join(o.workdir, "farm.json"), "--endpoints=" + strconv.Itoa(n),
		"--interval=" + o.interval.String(), "--concurrency=" + strconv.Itoa(o.concurrency), "--timeout=" + o.timeout.String()}
	if o.floorX25519 {
		args = append(args, "--x25519")
	}
	return args
}

func (f *companion) pid() int {
	if f == nil {
		return 0
	}
	return f.c.pid()
}

func (f *companion) stop() {
	if f != nil {
		f.c.stop()
	}
}

// counts are a window's probe counter readings, with the CPU snapshots
// taken right after them.
type counts struct {
	probes, failures int64
	cpu              cpuSnap
}

// floorResult is the floor's figures between a and b.
func floorResult(n, run int, f *companion, a, b counts) *baselineResult {
	r := &baselineResult{Name: "floor", Endpoints: n, Run: run}
	r.PeakRSSKB, _ = memKB(f.pid(), "VmHWM")
	r.Seconds = b.cpu.at.Sub(a.cpu.at).Seconds()
	probes := float64(b.probes - a.probes)
	if f.c.exited() || probes <= 0 {
		r.Err = "the floor ran no probes"
		return r
	}
	r.ProbesPerSec = probes / r.Seconds
	r.SuccessRatio = 1 - float64(b.failures-a.failures)/probes
	r.CPUPerProbe = (b.cpu.floor - a.cpu.floor) / probes
	r.OthersCPU = othersCores(a.cpu, b.cpu)
	return r
}

func (f *companion) read() (int64, int64) {
	if f == nil {
		return 0, 0
	}
	return f.counter.get()
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
	c, err := startChild("mail_exporter", filepath.Join(dir, "exporter.log"), nil, strings.Fields(o.exporterEnv), argv...)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	if err := waitReady(client, base+"/-/ready", c, time.Minute); err != nil {
		return nil, fmt.Errorf("mail_exporter (log in %s): %w", dir, err)
	}
	var floor *companion
	if o.paired {
		if floor, err = o.startFloor(n, fmt.Sprintf("floor-%d-%d.log", n, run)); err != nil {
			return nil, err
		}
		defer floor.stop()
	}
	if !o.sleep(o.warmup) {
		return nil, errors.New("interrupted")
	}

	type point struct {
		before, after cpuSnap
		s             *scrape
		floor         counts
	}
	var pts []point
	var gzBuf, plainBuf bytes.Buffer
	take := func() error {
		before := o.snap(c.pid(), floor.pid())
		s, err := scrapeExporter(client, base+"/metrics", true, "delayed", &gzBuf)
		fp, ff := floor.read()
		after := o.snap(c.pid(), floor.pid())
		if err != nil {
			return err
		}
		pts = append(pts, point{before, after, s, counts{fp, ff, after}})
		return nil
	}
	if err := take(); err != nil {
		return nil, err
	}
	end := pts[0].after.at.Add(o.duration)
	for time.Now().Before(end) {
		if !o.sleep(min(o.scrapeEvery, time.Until(end))) {
			return nil, errors.New("interrupted")
		}
		if c.exited() {
			return nil, fmt.Errorf("mail_exporter exited (log in %s)", dir)
		}
		if err := take(); err != nil {
			return nil, err
		}
	}
	r := &exporterResult{Endpoints: n, Run: run, Load1: load1()}
	r.PeakRSSKB, _ = memKB(c.pid(), "VmHWM")
	first, last := pts[0], pts[len(pts)-1]
	if floor != nil {
		r.Floor = floorResult(n, run, floor, first.floor, last.floor)
		floor.stop()
	}
	var plain []float64
	for i := range 4 { // the first one grows the buffer: not counted
		if s, err := scrapeExporter(client, base+"/metrics", false, "delayed", &plainBuf); err == nil && i > 0 {
			plain = append(plain, s.took.Seconds())
		}
	}
	r.ScrapePlain = median(plain)

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
		r.OthersMax = math.Max(r.OthersMax, othersCores(prev.after, p.after))
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
	r.OthersCPU = othersCores(first.after, last.after)
	return r, nil
}

// maxBucket is the upper bound of the highest bucket that gained counts.
func maxBucket(h histogram) float64 {
	les := make([]float64, 0, len(h))
	for le := range h {
		les = append(les, le)
	}
	slices.Sort(les)
	prev, out := 0.0, 0.0
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

// measureBaseline measures process c (with the paired floor, if any) over
// the baseline window; read returns c's probes and failures so far.
func (o *loadOpts) measureBaseline(name string, n, run int, c *child, read func() (int64, int64), floor *companion) baselineResult {
	r := baselineResult{Name: name, Endpoints: n, Run: run}
	if !o.sleep(o.baseWarmup) {
		r.Err = "interrupted"
		return r
	}
	p0, f0 := read()
	fp0, ff0 := floor.read()
	s0 := o.snap(c.pid(), floor.pid())
	if !o.sleep(o.baseDuration) {
		r.Err = "interrupted"
		return r
	}
	p1, f1 := read()
	fp1, ff1 := floor.read()
	s1 := o.snap(c.pid(), floor.pid())
	r.PeakRSSKB, _ = memKB(c.pid(), "VmHWM")
	if floor != nil {
		r.Floor = floorResult(n, run, floor, counts{fp0, ff0, s0}, counts{fp1, ff1, s1})
	}
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
	r.OthersCPU = othersCores(s0, s1)
	return r
}

// measureFloorAlone measures the floor in its own window (--paired=false).
func (o *loadOpts) measureFloorAlone(n, run int) baselineResult {
	f, err := o.startFloor(n, fmt.Sprintf("floor-%d-%d.log", n, run))
	if err != nil {
		return baselineResult{Name: "floor", Endpoints: n, Run: run, Err: err.Error()}
	}
	defer f.stop()
	return o.measureBaseline("floor", n, run, f.c, f.counter.get, nil)
}

func (o *loadOpts) measureBlackbox(n, run int) baselineResult {
	r := baselineResult{Name: "blackbox", Endpoints: n, Run: run}
	cfg := filepath.Join(o.workdir, "blackbox.yml")
	if err := writeBlackboxConfig(cfg, o.farm, o.timeout); err != nil {
		r.Err = err.Error()
		return r
	}
	port, err := freePort()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	c, err := startChild("blackbox", filepath.Join(o.workdir, fmt.Sprintf("blackbox-%d-%d.log", n, run)), nil, nil,
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
	var floor *companion
	if o.paired {
		if floor, err = o.startFloor(n, fmt.Sprintf("floor-bb-%d-%d.log", n, run)); err != nil {
			r.Err = err.Error()
			return r
		}
		defer floor.stop()
	}
	d := startDriver(base, o.farm.Host, o.farm.StartTLS[:n], o.interval, o.concurrency, o.timeout)
	defer d.halt()
	r = o.measureBaseline("blackbox", n, run, c, d.get, floor)
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
