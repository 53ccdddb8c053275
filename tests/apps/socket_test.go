package apps

import "testing"

// Sockets on the loopback interface, compared with the host: a Go HTTP
// server and client, UDP, unix sockets (static Go), and Python's socket
// and asyncio modules (dynamic glibc).
func TestSockets(t *testing.T) {
	t.Run("go", func(t *testing.T) {
		r := same(t, "gonet")
		if r.status != 0 {
			t.Errorf("status %d\n%s", r.status, r.stderr)
		}
	})
	t.Run("python3", func(t *testing.T) {
		sameHost(t, nil, "/", "/usr/bin/python3", "-c", pythonSockets)
	})
}

const pythonSockets = `import socket, threading, asyncio
a, b = socket.socketpair()
a.sendall(b"pair")
print(b.recv(16))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen()
port = srv.getsockname()[1]
def serve():
    c, _ = srv.accept()
    data = b""
    while len(data) < 100000:
        data += c.recv(65536)
    c.sendall(str(len(data)).encode())
    c.close()
th = threading.Thread(target=serve)
th.start()
cl = socket.create_connection(("127.0.0.1", port))
cl.sendall(b"y" * 100000)
print(cl.recv(16))
th.join()
print(cl.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM)
async def handle(r, w):
    w.write((await r.readline()).upper())
    await w.drain()
    w.close()
async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", 0)
    r, w = await asyncio.open_connection("127.0.0.1", s.sockets[0].getsockname()[1])
    w.write(b"asyncio line\n")
    print(await r.readline())
    w.close()
    s.close()
asyncio.run(main())
import tempfile, os
path = os.path.join(tempfile.mkdtemp(), "s.sock")
async def unix_main():
    s = await asyncio.start_unix_server(handle, path=path)
    r, w = await asyncio.open_unix_connection(path)
    w.write(b"unix path line\n")
    print(await r.readline())
    w.close()
    s.close()
asyncio.run(unix_main())
print(os.path.exists(path))
os.unlink(path)`
