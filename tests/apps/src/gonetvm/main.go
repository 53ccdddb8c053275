// Command gonetvm is the guest side of the network tests: "serve PORT"
// answers one TCP connection on PORT (the line it reads, upper-cased),
// "dial ADDR MSG" sends MSG to ADDR and prints the reply.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gonetvm serve PORT | dial ADDR MSG")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		ln, err := net.Listen("tcp", ":"+os.Args[2])
		check(err)
		fmt.Println("listening")
		c, err := ln.Accept()
		check(err)
		line, err := bufio.NewReader(c).ReadString('\n')
		check(err)
		fmt.Fprint(c, strings.ToUpper(line))
		c.Close()
		fmt.Printf("served %q from a %s peer\n", strings.TrimSpace(line), peerKind(c.RemoteAddr()))
	case "dial":
		c, err := net.Dial("tcp", os.Args[2])
		check(err)
		fmt.Fprintln(c, os.Args[3])
		reply, err := bufio.NewReader(c).ReadString('\n')
		check(err)
		fmt.Print("reply: ", reply)
	}
}

// peerKind says where a connection came from: QEMU's user network
// forwards host connections from its gateway address.
func peerKind(a net.Addr) string {
	if strings.HasPrefix(a.String(), "10.0.2.2:") {
		return "gateway"
	}
	return "other"
}

func check(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
