package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// benchConn is one keep-alive HTTP/1.1 connection of the write-path load generator. It
// writes each request's bytes itself and reads the answer with http.ReadResponse: no
// transport goroutines, request objects or header maps per request. The load generator
// shares the machine's cores with the server it measures; net/http's client cost as
// much CPU per request as the server's whole HTTP layer, and what it took the server
// could not use.
type benchConn struct {
	addr, token string
	conn        net.Conn
	r           *bufio.Reader
	req         []byte
}

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
	c.conn, c.r = conn, bufio.NewReader(conn)
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
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, c.fail(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, c.fail(err)
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, nil
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
