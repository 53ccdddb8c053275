package apps

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's servers, unmodified, serving the host through -p: nginx (one
// process: master_process off until processes exist), redis and
// memcached. Clients run on the host's loopback.

// server runs gosv with a published port and returns the host address
// and a function that stops the VM and returns what it printed.
func server(t *testing.T, guestPort int, flags []string, argv ...string) (addr string, stop func() string) {
	t.Helper()
	port := freePort(t)
	args := append([]string{"run", "--accel", "tcg", "--kernel", kernelPath,
		"-p", fmt.Sprintf("127.0.0.1:%d:%d", port, guestPort)}, flags...)
	cmd := exec.Command(gosvPath, append(args, argv...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() string {
		cmd.Process.Kill()
		<-done
		return out.String()
	}
	t.Cleanup(func() { stop() })
	return fmt.Sprintf("127.0.0.1:%d", port), stop
}

// retry runs try until it succeeds or two minutes pass: before the guest
// listens, QEMU accepts the host's connection and then closes it.
func retry(t *testing.T, what string, stop func() string, try func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = try(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v\nVM output:\n%s", what, err, stop())
}

func TestNginx(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	page := strings.Repeat("gosv serves this page. ", 30) + "\n"
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte(page), 0o644)
	conf := `daemon off;
master_process off;
error_log stderr notice;
pid /tmp/nginx.pid;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /tmp;
    proxy_temp_path /tmp;
    fastcgi_temp_path /tmp;
    uwsgi_temp_path /tmp;
    scgi_temp_path /tmp;
    server { listen 8080; root /www; location / { } }
}
`
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	addr, stop := server(t, 8080, []string{"--copy", filepath.Join(dir, "www") + ":/www",
		"--copy", filepath.Join(dir, "nginx.conf") + ":/etc/nginx/nginx.conf"},
		"/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf")
	client := &http.Client{Timeout: 30 * time.Second}
	var body []byte
	retry(t, "GET /", stop, func() error {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		body, err = io.ReadAll(resp.Body)
		return err
	})
	if string(body) != page {
		t.Errorf("GET / returned %q", body)
	}
	// Keep-alive requests on one connection, and a 404.
	for i := 0; i < 20; i++ {
		resp, err := client.Get("http://" + addr + "/index.html")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != page {
			t.Fatalf("request %d: status %d, %d bytes", i, resp.StatusCode, len(b))
		}
	}
	resp, err := client.Get("http://" + addr + "/missing")
	if err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /missing: %v %v", resp, err)
	}
}

// redisCmd sends one command in the inline protocol and reads one reply
// line (and the bulk string after a $ header).
func redisCmd(r *bufio.Reader, c net.Conn, cmd string) (string, error) {
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		bulk, err := r.ReadString('\n')
		return strings.TrimSpace(bulk), err
	}
	return strings.TrimSpace(line), nil
}

func TestRedis(t *testing.T) {
	addr, stop := server(t, 6379, nil, "/usr/bin/redis-server", "--port", "6379", "--save", "",
		"--appendonly", "no", "--protected-mode", "no")
	var c net.Conn
	var r *bufio.Reader
	retry(t, "PING", stop, func() error {
		var err error
		if c, err = net.DialTimeout("tcp", addr, 10*time.Second); err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		r = bufio.NewReader(c)
		reply, err := redisCmd(r, c, "PING")
		if err == nil && reply != "+PONG" {
			err = fmt.Errorf("PING: %q", reply)
		}
		if err != nil {
			c.Close()
		}
		return err
	})
	defer c.Close()
	for _, step := range []struct{ cmd, want string }{
		{"SET greeting hello", "+OK"},
		{"GET greeting", "hello"},
		{"INCR counter", ":1"},
		{"INCRBY counter 41", ":42"},
		{"RPUSH list a b c", ":3"},
		{"LLEN list", ":3"},
		{"DEL greeting", ":1"},
		{"GET greeting", "$-1"},
	} {
		got, err := redisCmd(r, c, step.cmd)
		if err != nil || got != step.want {
			t.Fatalf("%s = %q (%v), want %q", step.cmd, got, err, step.want)
		}
	}
}

func TestMemcached(t *testing.T) {
	addr, stop := server(t, 11211, nil, "/usr/bin/memcached", "-u", "root", "-p", "11211", "-U", "0")
	var got string
	retry(t, "set/get", stop, func() error {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprint(c, "set k 0 0 5\r\nhello\r\nget k\r\n")
		r := bufio.NewReader(c)
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "END\r\n") {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			b.WriteString(line)
		}
		got = b.String()
		return nil
	})
	if want := "STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"; got != want {
		t.Errorf("memcached replied %q, want %q", got, want)
	}
}
