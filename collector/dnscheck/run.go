package dnscheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mtasts"
	"github.com/mail-exporter/mail_exporter/collector/dnscheck/mx"
)

// outcome is what one task hands back to Run: a check result (nil for the
// DNSSEC task) and the figures it sets, applied by Run's goroutine only.
type outcome struct {
	name  string
	cr    *CheckResult
	apply func(*Result)
}

type task struct {
	name string
	fn   func(e *env, ctx context.Context) outcome
}

// tasks maps check names to their functions (checks.go).
func tasks() map[string]func(*env, context.Context) outcome {
	return map[string]func(*env, context.Context) outcome{
		CheckMX:     (*env).checkMX,
		CheckSPF:    (*env).checkSPF,
		CheckDMARC:  (*env).checkDMARC,
		CheckDKIM:   (*env).checkDKIM,
		CheckMTASTS: (*env).checkMTASTS,
		CheckTLSRPT: (*env).checkTLSRPT,
		CheckDANE:   (*env).checkDANE,
		CheckPTR:    (*env).checkPTR,
		CheckDNSBL:  (*env).checkDNSBL,
	}
}

// dnssecTask is not a check: it always runs and feeds mail_dnssec_secure.
const dnssecTask = "dnssec"

// Run runs the domain's checks, concurrently, and returns what they found.
// It never panics and returns by ctx's deadline: checks still running then
// are reported as failed lookups.
func Run(ctx context.Context, d Domain, opt Options) *Result {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	res := &Result{
		Domain:       strings.TrimSuffix(strings.ToLower(d.Name), "."),
		Checks:       map[string]*CheckResult{},
		MTASTSMaxAge: -1,
		DANE:         map[string]bool{},
		DNSSEC:       map[string]bool{},
	}
	defer func() { res.Finished = now() }()

	names := d.Checks
	if names == nil {
		names = DefaultChecks()
	}
	all := tasks()
	var run []task
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(n)
		if fn, ok := all[n]; ok && !seen[n] {
			seen[n] = true
			run = append(run, task{n, fn})
		}
	}
	if opt.Resolver == nil {
		for _, t := range run {
			res.Checks[t.name] = &CheckResult{Error: "no resolver configured"}
		}
		return res
	}
	run = append(run, task{dnssecTask, (*env).checkDNSSEC})

	e := newEnv(d, opt, res.Domain, now)
	e.ctx = ctx
	out := make(chan outcome, len(run)) // buffered: late tasks never block
	for _, t := range run {
		go func() {
			defer func() {
				if p := recover(); p != nil {
					out <- outcome{name: t.name, cr: &CheckResult{Error: fmt.Sprintf("internal error: %v", p)}}
				}
			}()
			o := t.fn(e, ctx)
			o.name = t.name
			out <- o
		}()
	}
	pending := map[string]bool{}
	for _, t := range run {
		pending[t.name] = true
	}
	for len(pending) > 0 {
		select {
		case o := <-out:
			delete(pending, o.name)
			if o.cr != nil && o.name != dnssecTask {
				res.Checks[o.name] = o.cr
			}
			if o.apply != nil {
				o.apply(res)
			}
		case <-ctx.Done():
			for name := range pending {
				if name != dnssecTask {
					res.Checks[name] = &CheckResult{Error: "not finished before the timeout: " + ctx.Err().Error()}
				}
			}
			return res
		}
	}
	return res
}

// env is what the checks of one run share: the options with defaults filled
// in, the MX lookup (done once, awaited by the checks that need it) and the
// STARTTLS handshakes (one per MX address, shared by DANE, MTA-STS and the
// mx check's certificate names).
type env struct {
	ctx      context.Context // the run's: handshakes run under it, whoever waits for them
	d        Domain
	domain   string
	port     int
	opt      Options
	now      func() time.Time
	client   *http.Client
	dialTLS  func(ctx context.Context, host string, port int) (*tls.ConnectionState, error)
	mxOnce   sync.Once
	mxDone   chan struct{}
	mxResult *mx.Result
	mxErr    error
	tlsMu    sync.Mutex
	tlsCache map[string]*tlsEntry
}

type tlsEntry struct {
	done chan struct{}
	cs   *tls.ConnectionState
	err  error
}

func newEnv(d Domain, opt Options, domain string, now func() time.Time) *env {
	e := &env{d: d, domain: domain, port: d.SMTPPort, opt: opt, now: now,
		mxDone: make(chan struct{}), tlsCache: map[string]*tlsEntry{}}
	if e.port == 0 {
		e.port = 25
	}
	e.client = opt.HTTPClient
	if e.client == nil {
		e.client = mtasts.NewHTTPClient(opt.RootCAs, ResolvingDialer(opt.Resolver))
	}
	e.dialTLS = opt.DialSTARTTLS
	if e.dialTLS == nil {
		e.dialTLS = DefaultDialSTARTTLS(opt.Resolver, opt.EHLOName)
	}
	return e
}

// mx returns the MX lookup, starting it on first use; it gives up when ctx
// ends.
func (e *env) mx(ctx context.Context) (*mx.Result, error) {
	e.mxOnce.Do(func() {
		go func() {
			defer close(e.mxDone)
			defer func() {
				if p := recover(); p != nil {
					e.mxErr = fmt.Errorf("internal error: %v", p)
				}
			}()
			e.mxResult, e.mxErr = mx.Lookup(ctx, e.opt.Resolver, e.domain)
		}()
	})
	select {
	case <-e.mxDone:
		return e.mxResult, e.mxErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tlsState returns the STARTTLS handshake with host, dialling once per run.
func (e *env) tlsState(ctx context.Context, host string) (*tls.ConnectionState, error) {
	return e.cachedTLS(ctx, hostPort(host, e.port), func(ctx context.Context) (*tls.ConnectionState, error) { return e.dialTLS(ctx, host, e.port) })
}

// cachedTLS runs dial once per key and run, under the run's context; every
// caller waits for it until its own ctx ends (a caller that gives up early
// does not cut the handshake short for the others).
func (e *env) cachedTLS(ctx context.Context, key string, dial func(context.Context) (*tls.ConnectionState, error)) (*tls.ConnectionState, error) {
	e.tlsMu.Lock()
	ent, ok := e.tlsCache[key]
	if !ok {
		ent = &tlsEntry{done: make(chan struct{})}
		e.tlsCache[key] = ent
		go func() {
			defer close(ent.done)
			defer func() {
				if p := recover(); p != nil {
					ent.err = fmt.Errorf("internal error: %v", p)
				}
			}()
			runCtx := e.ctx
			if runCtx == nil {
				runCtx = ctx
			}
			ent.cs, ent.err = dial(runCtx)
		}()
	}
	e.tlsMu.Unlock()
	select {
	case <-ent.done:
		return ent.cs, ent.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
