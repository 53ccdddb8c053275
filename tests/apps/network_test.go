package apps

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A guest server published with -p answers a host client on loopback,
// as with docker run -p: the guest says when it listens, then the host
// connects.
func TestPublishedPort(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(gosvPath, "run", "--accel", "tcg", "--kernel", kernelPath,
		"-p", fmt.Sprintf("127.0.0.1:%d:8080", port), filepath.Join(binDir, "gonetvm"), "serve", "8080")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if line != "listening\n" {
		t.Fatalf("guest printed %q (%v) instead of listening; stderr:\n%s", line, err, stderr.String())
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintln(c, "hello from the host")
	reply, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if reply != "HELLO FROM THE HOST\n" {
		t.Errorf("reply %q (%v)", reply, err)
	}
	rest, _ := io.ReadAll(out)
	if err := cmd.Wait(); err != nil {
		t.Errorf("gosv run: %v; stderr:\n%s", err, stderr.String())
	}
	if want := "served \"hello from the host\" from a gateway peer\n"; string(rest) != want {
		t.Errorf("guest printed %q, want %q", rest, want)
	}
}

// The guest reaches a server on the host's loopback as 10.0.2.2, QEMU's
// user-network gateway.
func TestGuestReachesHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprint(c, strings.ToUpper(line))
		got <- line
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	r := guest(t, []string{"--net", "user"}, filepath.Join(binDir, "gonetvm"), "dial", fmt.Sprintf("10.0.2.2:%d", port), "ping from the guest")
	if r.status != 0 || r.stdout != "reply: PING FROM THE GUEST\n" {
		t.Fatalf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
	}
	if line := <-got; line != "ping from the guest\n" {
		t.Errorf("host got %q", line)
	}
}
