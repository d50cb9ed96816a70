package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// runFloor is the floor baseline: the same dialogue as the exporter's
// STARTTLS submission probe (connect, greeting, EHLO, STARTTLS, TLS
// handshake with certificate verification, EHLO, AUTH PLAIN, QUIT) and
// nothing else, paced at endpoints/interval probes per second over the
// farm's listeners. It prints "probes=N failures=M" ten times a second.
func runFloor(args []string) int {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	farm := fs.String("farm", "", "farm.json written by the farm (required)")
	n := fs.Int("endpoints", 1000, "endpoints (farm STARTTLS listeners) to cycle over")
	interval := fs.Duration("interval", time.Minute, "each endpoint is probed once per interval")
	concurrency := fs.Int("concurrency", 64, "probes in flight at most")
	timeout := fs.Duration("timeout", 10*time.Second, "one probe")
	x25519 := fs.Bool("x25519", false, "offer only the classic X25519 key exchange. Go's default also offers the post-quantum X25519MLKEM768 hybrid; mail_exporter does too until a server has turned it down, then offers classic groups only (probe.KeyShares); blackbox_exporter 0.23, built with Go 1.19, never offers it")
	_ = fs.Parse(args)
	fi, err := readFarmInfo(*farm)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		return 1
	}
	if *n > len(fi.StartTLS) {
		fmt.Fprintf(os.Stderr, "floor: the farm has %d STARTTLS listeners, %d asked\n", len(fi.StartTLS), *n)
		return 1
	}
	pem, err := os.ReadFile(fi.CAFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		return 1
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: roots, ServerName: fi.ServerName}
	if *x25519 {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	auth := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+fi.User+"\x00"+fi.Password)) + "\r\n"
	addrs := make([]string, *n)
	for i := range addrs {
		addrs[i] = net.JoinHostPort(fi.Host, strconv.Itoa(fi.StartTLS[i]))
	}

	var probes, failures atomic.Int64
	sem := make(chan struct{}, *concurrency)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	report := time.NewTicker(100 * time.Millisecond)
	defer report.Stop()
	period := *interval / time.Duration(*n)
	next := time.Now()
	timer := time.NewTimer(0)
	for i := 0; ; i++ {
		select {
		case <-stop:
			fmt.Printf("probes=%d failures=%d\n", probes.Load(), failures.Load())
			return 0
		case <-report.C:
			fmt.Printf("probes=%d failures=%d\n", probes.Load(), failures.Load())
			i-- // not a tick of the pacer
			continue
		case <-timer.C:
		}
		sem <- struct{}{}
		go func(addr string) {
			defer func() { <-sem }()
			if err := floorProbe(addr, cfg, auth, *timeout); err != nil {
				failures.Add(1)
				if failures.Load() <= 5 {
					fmt.Fprintln(os.Stderr, "floor:", addr, err)
				}
			}
			probes.Add(1)
		}(addrs[i%len(addrs)])
		next = next.Add(period)
		timer.Reset(time.Until(next))
	}
}

var errReply = errors.New("unexpected reply")

// floorProbe is the whole dialogue, written as plainly as a minimal
// correct client can be: no metrics, no phases, no transcript.
func floorProbe(addr string, cfg *tls.Config, auth string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(c)
	if err := expectReply(r, "220"); err != nil {
		return err
	}
	if err := command(c, r, "EHLO "+ehloName+"\r\n", "250"); err != nil {
		return err
	}
	if err := command(c, r, "STARTTLS\r\n", "220"); err != nil {
		return err
	}
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	r = bufio.NewReader(tc)
	if err := command(tc, r, "EHLO "+ehloName+"\r\n", "250"); err != nil {
		return err
	}
	if err := command(tc, r, auth, "235"); err != nil {
		return err
	}
	return command(tc, r, "QUIT\r\n", "221")
}

func command(c net.Conn, r *bufio.Reader, line, code string) error {
	if _, err := c.Write([]byte(line)); err != nil {
		return err
	}
	return expectReply(r, code)
}

// expectReply reads a possibly multi-line SMTP reply and checks its code.
func expectReply(r *bufio.Reader, code string) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || string(line[:3]) != code {
			return fmt.Errorf("%w: %q", errReply, line)
		}
		if line[3] != '-' {
			return nil
		}
	}
}
