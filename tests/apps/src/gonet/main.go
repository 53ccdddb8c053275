// Command gonet exercises sockets the way Go services use them: an HTTP
// server and client over loopback, a UDP exchange, a unix socket pair and
// a TCP connection refused. It prints what it saw; the test compares the
// output under gosv with the host's.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

func main() {
	// HTTP over 127.0.0.1 with a kernel-chosen port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q", r.Method, r.URL.Path, body)
	})}
	go srv.Serve(ln)
	for i, path := range []string{"/a", "/b/c"} {
		resp, err := http.Post("http://"+ln.Addr().String()+path, "text/plain", strings.NewReader(strings.Repeat("x", i*70000)))
		check(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("http %d %d bytes: %.40s\n", resp.StatusCode, len(b), b)
	}
	srv.Close()

	// UDP: a datagram and its reply.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	check(err)
	c, err := net.Dial("udp", pc.LocalAddr().String())
	check(err)
	c.Write([]byte("ping"))
	buf := make([]byte, 64)
	n, from, err := pc.ReadFrom(buf)
	check(err)
	pc.WriteTo([]byte("pong:"+string(buf[:n])), from)
	n, err = c.Read(buf)
	check(err)
	fmt.Printf("udp %s\n", buf[:n])

	// A unix socket pair through the raw syscalls.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	syscall.Write(fds[0], []byte("over unix"))
	n, _ = syscall.Read(fds[1], buf)
	fmt.Printf("unix %s\n", buf[:n])

	// A unix listener in the abstract namespace.
	ul, err := net.Listen("unix", "@gonet-test")
	check(err)
	go func() {
		cc, err := ul.Accept()
		if err == nil {
			io.Copy(cc, cc)
			cc.Close()
		}
	}()
	uc, err := net.Dial("unix", "@gonet-test")
	check(err)
	uc.Write([]byte("echo me"))
	n, _ = io.ReadFull(uc, buf[:7])
	fmt.Printf("unix stream %s\n", buf[:n])

	// Nobody listens on this port: connection refused.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l2.Addr().String()
	l2.Close()
	_, err = net.Dial("tcp", addr)
	fmt.Printf("refused: %v\n", strings.Contains(fmt.Sprint(err), "connection refused"))
}

func check(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
