package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// procTimes is the CPU seconds (user+system) of every process, by PID,
// with its command name: two of them, a window apart, say who else kept
// the machine busy meanwhile.
type procTimes map[int]struct {
	comm string
	cpu  float64
}

func readProcTimes() procTimes {
	out := procTimes{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		out[pid] = struct {
			comm string
			cpu  float64
		}{s[i+1 : j], (ut + st) / clockTicks}
	}
	return out
}

// topOthers lists the commands that used the most CPU between a and b, by
// command name (processes born in the window count from zero), as
// "name 12.3s" items.
func topOthers(a, b procTimes, n int) string {
	by := map[string]float64{}
	for pid, p := range b {
		by[p.comm] += p.cpu - a[pid].cpu
	}
	names := make([]string, 0, len(by))
	for k, v := range by {
		if v > 0.05 {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return by[names[i]] > by[names[j]] })
	var parts []string
	for i, k := range names {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1fs", k, by[k]))
	}
	return strings.Join(parts, ", ")
}
