package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/mail-exporter/mail_exporter/collector"
	"github.com/mail-exporter/mail_exporter/collector/capacity"
	"github.com/mail-exporter/mail_exporter/collector/config"
	cweb "github.com/mail-exporter/mail_exporter/collector/web"
	"github.com/mail-exporter/mail_exporter/collector/web/history"
)

type serveFlags struct {
	configFile  *string
	configCheck *bool
	logLevel    *string
	logFormat   *string
	shardCount  *int
	shardIndex  *string
	web         *web.FlagConfig
}

func runServe(f serveFlags) int {
	log := newLogger(os.Stderr, *f.logLevel, *f.logFormat)
	shard, flagErrs := checkServeFlags(f)
	if *f.configCheck {
		return configCheck(f, flagErrs)
	}
	if len(flagErrs) > 0 {
		for _, err := range flagErrs { // a command-line mistake, reported as kingpin reports its own
			fmt.Fprintf(os.Stderr, "mail_exporter: %v\n", err)
		}
		return 2
	}

	hist := history.New(history.DefaultPerCheck)
	exp := collector.New(collector.Options{Logger: log, Shard: shard, Recorder: cweb.History{Store: hist}})
	if err := exp.Reload(*f.configFile); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer exp.Stop()
	log.Info("starting mail_exporter", "version", version.Info(), "build", version.BuildContext(),
		"shard", fmt.Sprintf("%d/%d", shard.Index, shard.Count))

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector("mail_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		exp.WithoutEndpoints(), // endpoint series: written by web.Metrics
	)

	mux := newMux(exp, reg, hist, func() error { return exp.Reload(*f.configFile) }, log)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srvErr := make(chan error, 1)
	go func() { srvErr <- web.ListenAndServe(srv, f.web, log) }()

	for {
		select {
		case <-hup:
			log.Info("SIGHUP: reloading config")
			_ = exp.Reload(*f.configFile)
		case err := <-srvErr:
			if !errors.Is(err, http.ErrServerClosed) {
				log.Error("HTTP server failed", "err", err)
				return 1
			}
			return 0
		case <-ctx.Done():
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			return 0
		}
	}
}

// configCheck is --config.check: the flags' errors and the file's, each
// on its own line; 0 when there are none.
func configCheck(f serveFlags, flagErrs []error) int {
	cfg, err := config.Load(*f.configFile)
	for _, e := range flagErrs {
		fmt.Fprintln(os.Stderr, e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if len(flagErrs) > 0 {
		return 1
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	fmt.Printf("%s: valid (%d servers, %d domains, %d roundtrips)\n", *f.configFile,
		len(cfg.Servers), len(cfg.Domains), len(cfg.Roundtrips))
	if err := capacity.Write(os.Stdout, capacity.Of(cfg)); err != nil {
		return 1
	}
	return 0
}

// newMux wires the HTTP endpoints of SPEC section 4.
func newMux(exp *collector.Exporter, reg *prometheus.Registry, hist *history.Store, reload func() error, log *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	prober := cweb.Probe(exp)
	reg.MustRegister(prober) // mail_exporter_probe_refused_total
	mux.Handle("/metrics", cweb.Metrics(reg, exp, log, 8))
	mux.Handle("/probe", prober)
	status := cweb.StatusOptions{Version: version.Version, History: hist, Log: log}
	mux.Handle("/", cweb.Status(exp, status))
	mux.Handle("/check", cweb.CheckPage(exp, status))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !exp.Ready() {
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST")
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if err := reload(); err != nil {
			http.Error(w, "reload failed, running config kept:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Reloaded")
	})
	return mux
}

var ordinal = regexp.MustCompile(`-(\d+)$`)

// parseShard accepts a number or a StatefulSet pod name ending in -N.
func parseShard(count int, index string) (collector.Shard, error) {
	if count < 1 {
		return collector.Shard{}, fmt.Errorf("%w: --shard.count must be at least 1, got %d", errFlag, count)
	}
	i, err := strconv.Atoi(index)
	if err != nil {
		m := ordinal.FindStringSubmatch(index)
		if m == nil {
			return collector.Shard{}, fmt.Errorf("%w: --shard.index %q is neither a number nor a name ending in -N", errFlag, index)
		}
		i, _ = strconv.Atoi(m[1])
	}
	if i < 0 || i >= count {
		return collector.Shard{}, fmt.Errorf("%w: --shard.index %d is outside 0..%d", errFlag, i, count-1)
	}
	return collector.Shard{Count: count, Index: i}, nil
}
