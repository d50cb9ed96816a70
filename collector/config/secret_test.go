package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestSecretNeverPrints formats a loaded Config and its credentials every
// way a careless log line might.
func TestSecretNeverPrints(t *testing.T) {
	cfg := load(t, "testdata/valid-passwords.yaml")
	full := load(t, "testdata/valid-full.yaml")
	secrets := []string{"file-pass-7Qz", "env-pass-3Kd", "inline-pass-9Xw", "123456", "other-pass-8Hm"}
	var values []any
	values = append(values, cfg, *cfg, cfg.Credentials, full, *full, full.Servers, full.Roundtrips,
		full.Servers[0].Endpoints, *full.Servers[0].Endpoints[0], full.Roundtrips[0].Send, *full.Roundtrips[0])
	for _, c := range cfg.Credentials {
		values = append(values, c, *c, c.Password)
	}
	var out strings.Builder
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3s"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		fmt.Fprintln(&out, v)
		b, _ := json.Marshal(v)
		out.Write(b)
		b, _ = yaml.Marshal(v)
		out.Write(b)
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		for _, c := range cfg.Credentials {
			l.Info("cred", "c", c, "pw", c.Password, "v", *c)
		}
	}
	all := out.String() + logs.String()
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("password %q printed:\n%s", s, all)
		}
	}
	if !strings.Contains(all, "****") {
		t.Error("no mask in the output")
	}
}
