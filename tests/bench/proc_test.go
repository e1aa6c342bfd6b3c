package bench

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time from /proc.
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseStatCPU(string(raw))
	if err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return d
}

// parseStatCPU reads utime and stime, fields 14 and 15 of /proc/PID/stat,
// in clock ticks (USER_HZ = 100). The command name before them is in
// parentheses and may itself hold spaces and parentheses.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 > len(stat) {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	fields := strings.Fields(stat[i+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("utime %q stime %q are not integers", fields[11], fields[12])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// peakRSSMiB is the process's peak resident set (VmHWM).
func peakRSSMiB(t testing.TB, pid int) float64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("/proc/%d/status has no VmHWM", pid)
	return 0
}

// resetPeakRSS makes VmHWM the current RSS (clear_refs 5, Linux 4.0+),
// so that a window's peak is its own and not an earlier window's.
func resetPeakRSS(t testing.TB, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset peak RSS of %d: %v", pid, err)
	}
}

// pin binds every thread of pid to cpus (taskset list syntax); threads it
// starts later inherit the binding.
func pin(t testing.TB, pid int, cpus string) {
	t.Helper()
	if cpus == "" {
		return
	}
	if out, err := exec.Command("taskset", "-apc", cpus, strconv.Itoa(pid)).CombinedOutput(); err != nil {
		t.Fatalf("taskset -apc %s %d: %v\n%s", cpus, pid, err, out)
	}
}

// promSum adds up the values of every sample of metric in a Prometheus
// text exposition whose labels contain all of match (`key="value"`).
func promSum(exposition io.Reader, metric string, match ...string) (float64, bool, error) {
	var sum float64
	found := false
	sc := bufio.NewScanner(exposition)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) || len(line) == len(metric) {
			continue
		}
		if c := line[len(metric)]; c != '{' && c != ' ' {
			continue // a longer name with this prefix
		}
		all := true
		for _, m := range match {
			if !strings.Contains(line, m) {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		// name{labels} value [timestamp]
		rest := line[len(metric):]
		if rest[0] == '{' {
			rest = rest[strings.LastIndexByte(rest, '}')+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false, fmt.Errorf("no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("value of %q: %w", line, err)
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

// scrapeSum is promSum of the exposition at url.
func scrapeSum(url, metric string, match ...string) (float64, bool, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return promSum(resp.Body, metric, match...)
}
