package main

// The binary of the (simulated) Docker build, run for real: served over TLS
// with basic auth from a --web.config.file as a deployment would configure
// it, and sharded with the flags the Kubernetes StatefulSet gives its pods.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "deploycheck"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "tls.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	keyFile = writeFile(t, dir, "tls.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// closedPorts returns n loopback ports that nothing listens on.
func closedPorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// loopbackConfig is a targets.yaml with servers*perServer plaintext SMTP
// endpoints on closed loopback ports: every probe fails fast at connect,
// and nothing leaves the machine (IP literals: no DNS).
func loopbackConfig(t *testing.T, servers, perServer int) (config []byte, endpoints []string) {
	t.Helper()
	ports := closedPorts(t, servers*perServer)
	var b strings.Builder
	b.WriteString("global:\n  interval: 1s\n  timeout: 500ms\nservers:\n")
	for s := 0; s < servers; s++ {
		fmt.Fprintf(&b, "  - name: s%02d\n    host: 127.0.0.1\n    endpoints:\n", s)
		for e := 0; e < perServer; e++ {
			fmt.Fprintf(&b, "      - {name: e%02d, protocol: smtp, port: %d, tls: none}\n", e, ports[s*perServer+e])
			endpoints = append(endpoints, fmt.Sprintf("s%02d/e%02d", s, e))
		}
	}
	return []byte(b.String()), endpoints
}

// TestServeTLSBasicAuth runs the image's binary with a web config that turns
// on TLS and basic auth, and scrapes it with a real HTTPS client.
func TestServeTLSBasicAuth(t *testing.T) {
	bin := dockerBuild(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	const user, password = "prometheus", "s3cret-scrape-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, dir, "web-config.yml", []byte(fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n", certFile, keyFile, user, hash)), 0o600)
	cfg, _ := loopbackConfig(t, 1, 2)
	config := writeFile(t, dir, "targets.yaml", cfg, 0o644)

	e := startExporter(t, bin, buildEnv(nil), "--config.file="+config, "--web.config.file="+webConfig, "--log.format=json")
	base := "https://" + e.addr
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }

	if code, _ := get(t, client, base+"/metrics", nil); code != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", code)
	}
	if code, _ := get(t, client, base+"/metrics", basic(user, "wrong")); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong password: %d, want 401", code)
	}
	if code, _ := get(t, client, base+"/", nil); code != http.StatusUnauthorized {
		t.Errorf("status page without credentials: %d, want 401", code)
	}
	for _, p := range []string{"/-/healthy", "/-/ready", "/"} {
		if code, _ := get(t, client, base+p, basic(user, password)); code != http.StatusOK {
			t.Errorf("%s with credentials: %d, want 200", p, code)
		}
	}
	code, body := get(t, client, base+"/metrics", basic(user, password))
	if code != http.StatusOK {
		t.Fatalf("/metrics with credentials: %d\n%s", code, body)
	}
	bi := series(body, "mail_exporter_build_info")
	if len(bi) != 1 {
		t.Fatalf("mail_exporter_build_info: %d series\n%s", len(bi), body)
	}
	for label, arg := range map[string]string{"version": "VERSION", "revision": "REVISION", "branch": "BRANCH"} {
		if bi[0][label] != dockerBuildArgs[arg] {
			t.Errorf("mail_exporter_build_info{%s=%q}, the build arg %s was %q", label, bi[0][label], arg, dockerBuildArgs[arg])
		}
	}
	if strings.Contains(body, password) || strings.Contains(e.stderr.String(), password) {
		t.Error("the scrape password appears in /metrics or the log")
	}

	// The server really is TLS with that certificate: an untrusting client
	// and a plaintext one both fail.
	strict := &http.Client{Timeout: 5 * time.Second}
	if _, err := strict.Get(base + "/-/healthy"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without the CA: %v, want a certificate error", err)
	}
	if code, _ := get(t, &http.Client{Timeout: 5 * time.Second}, "http://"+e.addr+"/metrics", basic(user, password)); code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", code)
	}
}

// TestShards runs the image's binary once per pod of the rendered
// StatefulSets (the base's 2 and the example overlay's 4), with the shard
// flags the kubelet would give each pod, on 20 endpoints, and checks that
// together they probe every endpoint exactly once.
func TestShards(t *testing.T) {
	bin := dockerBuild(t)
	for _, dir := range []string{k8sBase, k8sOverlay} {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			r := render(t, dir)
			s, c := statefulSet(t, r)
			replicas := int(*s.Spec.Replicas)
			cfg, endpoints := loopbackConfig(t, 4, 5)
			config := writeFile(t, t.TempDir(), "targets.yaml", cfg, 0o644)

			var shards []*exporter
			for i := 0; i < replicas; i++ {
				args := []string{"--config.file=" + config}
				for _, a := range podArgs(t, s, c, i) {
					if strings.HasPrefix(a, "--shard.") || strings.HasPrefix(a, "--log.") {
						args = append(args, a)
					}
				}
				t.Logf("pod %d: %s", i, strings.Join(args[1:], " "))
				shards = append(shards, startExporter(t, bin, buildEnv(nil), args...))
			}

			client := &http.Client{Timeout: 5 * time.Second}
			owner := map[string][]int{}
			deadline := time.Now().Add(30 * time.Second)
			for {
				owner = map[string][]int{}
				for i, sh := range shards {
					_, body := get(t, client, "http://"+sh.addr+"/metrics", nil)
					for _, l := range series(body, "mail_probe_success") {
						id := l["server"] + "/" + l["endpoint"]
						owner[id] = append(owner[id], i)
					}
				}
				if len(owner) >= len(endpoints) || time.Now().After(deadline) {
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
			perShard := make([]int, replicas)
			for _, ep := range endpoints {
				switch o := owner[ep]; len(o) {
				case 0:
					t.Errorf("%s is probed by no shard", ep)
				case 1:
					perShard[o[0]]++
				default:
					t.Errorf("%s is probed by shards %v", ep, o)
				}
			}
			if len(owner) != len(endpoints) {
				t.Errorf("%d endpoints exported, %d configured", len(owner), len(endpoints))
			}
			t.Logf("endpoints per shard: %v", perShard)
			if replicas == 2 && (perShard[0] == 0 || perShard[1] == 0) {
				t.Errorf("one of two shards owns nothing: %v", perShard)
			}
			time.Sleep(1500 * time.Millisecond) // more than an interval: late duplicates would show
			for i, sh := range shards {
				_, body := get(t, client, "http://"+sh.addr+"/metrics", nil)
				if got := series(body, "mail_probe_success"); len(got) != perShard[i] {
					t.Errorf("shard %d exports %d mail_probe_success series, owns %d", i, len(got), perShard[i])
				}
			}
		})
	}
}

// reloadStamp reads mail_exporter_config_last_reload_success_timestamp_seconds.
func reloadStamp(t *testing.T, addr string) float64 {
	t.Helper()
	_, body := get(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/metrics", nil)
	s := series(body, "mail_exporter_config_last_reload_success_timestamp_seconds")
	if len(s) == 0 {
		// no labels: the series regexp wants braces
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, "mail_exporter_config_last_reload_success_timestamp_seconds "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		t.Fatalf("no mail_exporter_config_last_reload_success_timestamp_seconds in /metrics")
	}
	f, _ := strconv.ParseFloat(s[0]["__value__"], 64)
	return f
}
