package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bbModule is the blackbox_exporter module equivalent to the exporter's
// STARTTLS submission probe: the same dialogue, certificate verified
// against the farm's CA. blackbox appends "\n" to every send, so each ends
// in "\r" to make CRLF.
const bbModule = "smtp_starttls_auth"

func writeBlackboxConfig(path string, fi *farmInfo, timeout time.Duration) error {
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + fi.User + "\x00" + fi.Password))
	y := fmt.Sprintf(`modules:
  %s:
    prober: tcp
    timeout: %s
    tcp:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: %q
        server_name: %s
      query_response:
        - expect: "^220 "
        - send: "EHLO %s\r"
        - expect: "^250 "
        - send: "STARTTLS\r"
        - expect: "^220 "
          starttls: true
        - send: "EHLO %s\r"
        - expect: "^250 "
        - send: "AUTH PLAIN %s\r"
        - expect: "^235 "
        - send: "QUIT\r"
        - expect: "^221 "
`, bbModule, timeout, fi.CAFile, fi.ServerName, ehloName, ehloName, auth)
	return os.WriteFile(path, []byte(y), 0o600)
}

// driver issues /probe requests to blackbox_exporter at a steady rate, as
// Prometheus would with one scrape job per target. Its own CPU is the load
// test's, not blackbox's.
type driver struct {
	probes, failures atomic.Int64
	stop             chan struct{}
	wg               sync.WaitGroup
	firstErr         atomic.Value
}

func startDriver(base, host string, ports []int, interval time.Duration, concurrency int, timeout time.Duration) *driver {
	d := &driver{stop: make(chan struct{})}
	client := &http.Client{
		Timeout: timeout + 5*time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     time.Minute,
		},
	}
	urls := make([]string, len(ports))
	for i, p := range ports {
		urls[i] = base + "/probe?module=" + bbModule + "&target=" + net.JoinHostPort(host, strconv.Itoa(p))
	}
	sem := make(chan struct{}, concurrency)
	period := interval / time.Duration(len(urls))
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		next := time.Now()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for i := 0; ; i++ {
			select {
			case <-d.stop:
				return
			case <-timer.C:
			}
			select {
			case sem <- struct{}{}:
			case <-d.stop:
				return
			}
			d.wg.Add(1)
			go func(url string) {
				defer d.wg.Done()
				defer func() { <-sem }()
				ok, err := bbProbe(client, url)
				if !ok {
					d.failures.Add(1)
					if err != nil {
						d.firstErr.CompareAndSwap(nil, err.Error())
					}
				}
				d.probes.Add(1)
			}(urls[i%len(urls)])
			next = next.Add(period)
			timer.Reset(time.Until(next))
		}
	}()
	return d
}

func bbProbe(client *http.Client, url string) (bool, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", promAccept) // Go's transport asks for gzip, as Prometheus does
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if strings.Contains(string(b), "\nprobe_success 1\n") {
		return true, nil
	}
	return false, fmt.Errorf("probe_success not 1 (status %s)", resp.Status)
}

func (d *driver) halt() {
	close(d.stop)
	d.wg.Wait()
}

func (d *driver) get() (int64, int64) { return d.probes.Load(), d.failures.Load() }
