package web

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// node wraps an html.Node with the few look-ups the DOM tests need. A nil
// *node answers every look-up with nil or "", so chains stay readable.
type node struct {
	*html.Node
	tag string
}

func parseDOM(t *testing.T, s string) *node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("the DOM does not parse: %v", err)
	}
	return wrap(n)
}

func wrap(n *html.Node) *node {
	if n == nil {
		return nil
	}
	return &node{Node: n, tag: n.Data}
}

func (n *node) attr(key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func (n *node) hasClass(c string) bool { return slices.Contains(strings.Fields(n.attr("class")), c) }

func (n *node) findAll(match func(*node) bool) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	var walk func(*html.Node)
	walk = func(h *html.Node) {
		for c := h.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode {
				if w := wrap(c); match(w) {
					out = append(out, w)
				}
			}
			walk(c)
		}
	}
	walk(n.Node)
	return out
}

func (n *node) first(match func(*node) bool) *node {
	if all := n.findAll(match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func (n *node) find(key, val string) *node {
	return n.first(func(m *node) bool { return m.attr(key) == val })
}
func (n *node) findClass(c string) *node { return n.first(func(m *node) bool { return m.hasClass(c) }) }
func (n *node) findTag(tag string) *node { return n.first(func(m *node) bool { return m.tag == tag }) }

func (n *node) parent() *node {
	if n == nil {
		return nil
	}
	return wrap(n.Parent)
}

func (n *node) parentTag() string {
	if n == nil || n.Parent == nil {
		return ""
	}
	return n.Parent.Data
}

// text is the element's text content, whitespace collapsed.
func (n *node) text() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(h *html.Node) {
		if h.Type == html.TextNode {
			b.WriteString(h.Data)
			b.WriteByte(' ')
		}
		for c := h.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n.Node)
	return strings.Join(strings.Fields(b.String()), " ")
}
