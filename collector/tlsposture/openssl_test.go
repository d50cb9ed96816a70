package tlsposture

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// sClient runs `openssl s_client` against addr, with -starttls for the
// protocol where the endpoint uses STARTTLS, and returns its output.
func sClient(t *testing.T, addr string, ep *config.Endpoint, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv(peers.EnvRealPeers) == "1" {
			t.Fatalf("openssl not installed, and %s=1", peers.EnvRealPeers)
		}
		t.Skip("openssl not installed")
	}
	full := []string{"s_client", "-connect", addr, "-servername", peers.ServerName}
	if ep.TLS == config.TLSStartTLS {
		full = append(full, "-starttls", string(ep.Protocol))
	}
	full = append(full, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Stdin = strings.NewReader("") // EOF at once: s_client closes after the handshake
	out, _ := cmd.CombinedOutput()    // its exit status says little; the output says all
	return string(out)
}

var sessionRE = regexp.MustCompile(`(?m)^New, (\S+), Cipher is (\S+)`)

// handshakeOK reads s_client's verdict: a session with a cipher came up.
func handshakeOK(out string) (version, cipher string, ok bool) {
	m := sessionRE.FindStringSubmatch(out)
	if m == nil || m[2] == "(NONE)" {
		return "", "", false
	}
	return m[1], m[2], true
}

// opensslVersionFlag maps Go's version names to s_client's options.
var opensslVersionFlag = map[string]string{"TLS 1.0": "-tls1", "TLS 1.1": "-tls1_1", "TLS 1.2": "-tls1_2", "TLS 1.3": "-tls1_3"}

// opensslSuite maps the weak list to OpenSSL's names.
var opensslSuite = map[string]string{
	"TLS_RSA_WITH_RC4_128_SHA":            "RC4-SHA",
	"TLS_ECDHE_RSA_WITH_RC4_128_SHA":      "ECDHE-RSA-RC4-SHA",
	"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA":    "ECDHE-ECDSA-RC4-SHA",
	"TLS_RSA_WITH_3DES_EDE_CBC_SHA":       "DES-CBC3-SHA",
	"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": "ECDHE-RSA-DES-CBC3-SHA",
	"TLS_RSA_WITH_AES_128_CBC_SHA":        "AES128-SHA",
	"TLS_RSA_WITH_AES_256_CBC_SHA":        "AES256-SHA",
	"TLS_RSA_WITH_AES_128_CBC_SHA256":     "AES128-SHA256",
	"TLS_RSA_WITH_AES_128_GCM_SHA256":     "AES128-GCM-SHA256",
	"TLS_RSA_WITH_AES_256_GCM_SHA384":     "AES256-GCM-SHA384",
}

// opensslKnows reports whether this OpenSSL can offer suite at all.
func opensslKnows(suite string) bool {
	return exec.Command("openssl", "ciphers", suite+":@SECLEVEL=0").Run() == nil
}

// opensslSigName maps Go's signature algorithm names to OpenSSL's.
var opensslSigName = map[string]string{
	"SHA256-RSA": "sha256WithRSAEncryption", "SHA1-RSA": "sha1WithRSAEncryption",
	"ECDSA-SHA256": "ecdsa-with-SHA256", "ECDSA-SHA1": "ecdsa-with-SHA1",
}

var certPEMRE = regexp.MustCompile(`(?s)-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?`)

// leafText is `openssl x509 -text` of the first certificate s_client showed.
func leafText(t *testing.T, out string) string {
	t.Helper()
	certs := certPEMRE.FindAllString(out, -1)
	if len(certs) == 0 {
		t.Fatalf("s_client showed no certificate:\n%s", out)
	}
	f := filepath.Join(t.TempDir(), "leaf.pem")
	if err := os.WriteFile(f, []byte(certs[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command("openssl", "x509", "-in", f, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, txt)
	}
	return string(txt)
}

var (
	keyBitsRE = regexp.MustCompile(`Public-Key: \((\d+) bit\)`)
	sigAlgRE  = regexp.MustCompile(`Signature Algorithm: (\S+)`)
	verifyRE  = regexp.MustCompile(`Verify return code: (\d+) \(([^)]*)\)`)
)

func submatch(re *regexp.Regexp, s string, i int) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[i]
	}
	return ""
}

var certStatusRE = regexp.MustCompile(`Cert Status: (\S+)`)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func tls13Safe(id uint16) string { return tls.CipherSuiteName(id) }
