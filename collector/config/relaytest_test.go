package config

import (
	"testing"
)

func TestRelayTestSettings(t *testing.T) {
	cfg := load(t, "testdata/valid-full.yaml")
	type rt struct {
		on   bool
		rcpt string
	}
	got := map[string]rt{}
	for _, s := range cfg.Servers {
		for _, e := range s.Endpoints {
			got[s.Name+"/"+e.Name] = rt{e.RelayTest, e.RelayTestRecipient}
		}
	}
	want := map[string]rt{
		"mx1/submission": {true, "probe@relay-check.example"},  // the server's setting
		"mx1/imaps":      {false, ""},                          // not smtp
		"mx1/smtp-alt":   {false, "other@relay-check.example"}, // its own
		"mx1/smtp":       {true, "probe@relay-check.example"},  // the server's
		"mx2/smtp":       {false, DefaultRelayTestRecipient},   // default: off
		"mx2/imap":       {false, ""},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: relay test %+v, want %+v", k, got[k], w)
		}
	}
}
