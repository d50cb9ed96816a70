package config

import (
	"slices"
	"strings"
)

// passwordKeys are the ways to give a password; exactly one is required.
var passwordKeys = []string{"password_file", "password_env", "password"}

func (p *parser) credentials(f field) {
	if !f.present() {
		return
	}
	entries, _ := p.pairs(f)
	for _, e := range entries {
		switch e.key {
		case "":
			p.errorf(e.line, e.path, "a credential needs a name")
			continue
		case "none":
			p.errorf(e.line, e.path, `"none" is reserved: it means no login`)
			continue
		}
		c := &Credential{Name: e.key}
		// Registered even when invalid, so that references to it do not
		// add "unknown credential" to the real mistake.
		p.cfg.Credentials[e.key] = c
		p.credential(c, e)
	}
}

func (p *parser) credential(c *Credential, f field) {
	fs, ok := p.mapping(f, append([]string{"username"}, passwordKeys...)...)
	if !ok {
		return
	}
	if u := fs["username"]; !u.present() {
		p.errorf(f.line, f.path, "username is required")
	} else if s, ok := p.nonEmpty(u); ok {
		c.Username = s
	}
	var given []field
	for _, k := range passwordKeys {
		if fs[k].present() {
			given = append(given, fs[k])
		}
	}
	slices.SortStableFunc(given, func(a, b field) int { return a.line - b.line })
	switch {
	case len(given) == 0:
		p.errorf(f.line, f.path, "one of password_file, password_env or password is required")
		return
	case len(given) > 1:
		p.errorf(given[1].line, given[1].path, "only one of password_file, password_env or password may be given (%s is set too)", given[0].key)
		return
	}
	g := given[0]
	c.Source = g.key
	switch g.key {
	case "password_file":
		p.passwordFile(c, g)
	case "password_env":
		p.passwordEnv(c, g)
	case "password":
		// The value is never echoed: str's type errors name only the kind.
		if s, ok := p.nonEmpty(g); ok {
			c.Password = Secret(s)
			p.warnf(g.line, g.path, "inline password in the config file; prefer password_file or password_env")
		}
	}
}

func (p *parser) passwordFile(c *Credential, f field) {
	s, ok := p.nonEmpty(f)
	if !ok {
		return
	}
	path := p.rel(s)
	data, err := p.opts.readFile(path)
	if err != nil {
		p.errorf(f.line, f.path, "cannot read %s: %v", show(path), cause(err))
		return
	}
	// A file written by echo or an editor ends in a newline that is not
	// part of the password.
	pw := strings.TrimRight(string(data), "\r\n")
	if pw == "" {
		p.errorf(f.line, f.path, "password file %s is empty", show(path))
		return
	}
	c.Password = Secret(pw)
}

func (p *parser) passwordEnv(c *Credential, f field) {
	name, ok := p.nonEmpty(f)
	if !ok {
		return
	}
	pw, set := p.opts.getenv(name)
	switch {
	case !set:
		p.errorf(f.line, f.path, "environment variable %s is not set", show(name))
	case pw == "":
		p.errorf(f.line, f.path, "environment variable %s is empty", show(name))
	default:
		c.Password = Secret(pw)
	}
}

// credentialRef resolves a credential name ("none" or "" is no login).
func (p *parser) credentialRef(f field) (*Credential, bool) {
	name, ok := p.str(f)
	if !ok || name == "" || name == "none" {
		return nil, ok
	}
	if c, ok := p.cfg.Credentials[name]; ok {
		return c, true
	}
	names := make([]string, 0, len(p.cfg.Credentials))
	for n := range p.cfg.Credentials {
		names = append(names, n)
	}
	slices.Sort(names)
	defined := "no credentials are defined"
	if len(names) > 0 {
		defined = "defined: " + strings.Join(names, ", ")
	}
	p.errorf(f.line, f.path, "unknown credential %q (%s)", name, defined)
	return nil, false
}
