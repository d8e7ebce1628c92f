package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// benchConn is one keep-alive HTTP/1.1 connection of the write-path load generator. It
// writes each request's bytes itself and reads the answer's status and length itself: no
// transport goroutines, request or response objects or header maps per request. The load generator
// shares the machine's cores with the server it measures; net/http's client cost as
// much CPU per request as the server's whole HTTP layer, and what it took the server
// could not use.
type benchConn struct {
	addr, token string
	conn        net.Conn
	r           *bufio.Reader
	req         []byte
}

// benchReadBuffer holds the longest header line of an answer (ReadSlice needs the whole
// line in the buffer).
const benchReadBuffer = 16 << 10

// dialBench opens a connection to addr whose requests authorize with token.
func dialBench(addr, token string) (*benchConn, error) {
	c := &benchConn{addr: addr, token: token}
	return c, c.dial()
}

func (c *benchConn) dial() error {
	conn, err := net.DialTimeout("tcp", c.addr, benchHTTPTimeout)
	if err != nil {
		return err
	}
	c.conn, c.r = conn, bufio.NewReaderSize(conn, benchReadBuffer)
	return nil
}

// post sends body to path as JSON, reads the answer to its end and returns its status.
// A connection the server closes is dialled again for the next request.
func (c *benchConn) post(path string, body []byte) (int, error) {
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return 0, err
		}
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nAuthorization: Bearer "...)
	c.req = append(c.req, c.token...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if err := c.conn.SetDeadline(time.Now().Add(benchHTTPTimeout)); err != nil {
		return 0, c.fail(err)
	}
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, c.fail(err)
	}
	status, closing, err := c.readAnswer()
	if err != nil {
		return 0, c.fail(err)
	}
	if closing {
		c.close()
	}
	return status, nil
}

// readAnswer reads one HTTP/1.1 answer to its end, keeping only what the load needs: the
// status, and whether the server closes the connection. The body, sized by Content-Length
// or chunked, is discarded. It allocates nothing: the load generator's garbage would
// otherwise add to the collector's cycles in the process it shares with the server.
func (c *benchConn) readAnswer() (status int, closing bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < len("HTTP/1.1 200\r\n") || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, fmt.Errorf("status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("status line %q", line)
	}
	length, chunked := int64(-1), false
	for {
		if line, err = c.r.ReadSlice('\n'); err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil {
				return 0, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = c.discardChunks()
	case length >= 0:
		_, err = c.r.Discard(int(length))
	case status != http.StatusNoContent && status != http.StatusNotModified:
		err = fmt.Errorf("status %d without Content-Length or chunks", status)
	}
	return status, closing, err
}

// discardChunks reads a chunked body and its trailer to their end.
func (c *benchConn) discardChunks() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			for { // the trailer, up to an empty line
				if line, err = c.r.ReadSlice('\n'); err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
					return err
				}
			}
		}
		if _, err := c.r.Discard(int(n) + len("\r\n")); err != nil {
			return err
		}
	}
}

// fail closes the connection after err, so the next request dials again.
func (c *benchConn) fail(err error) error {
	c.close()
	return fmt.Errorf("POST to %s: %w", c.addr, err)
}

func (c *benchConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
