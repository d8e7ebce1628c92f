package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// A streamed batch: POST /v1/batch with Content-Type application/x-ndjson carries JSON
// Lines, one command object with its "type" per line, of any length. The server cuts
// the stream into chunks of StreamChunkCommands commands; each chunk is one atomic
// request, recorded whole or not at all, and answers one JSON line as soon as it is
// recorded. With an Idempotency-Key K, chunk i is recorded under the key "K/chunk-i",
// so a retry of the whole stream after a cut answers the chunks already recorded as
// replays and records only the rest.
const (
	// MIMEJSONLines is the media type of a streamed batch and of its answer.
	MIMEJSONLines = "application/x-ndjson"
	// StreamChunkCommands is the number of commands of one atomic chunk of a stream.
	StreamChunkCommands = 1_000
	// StreamLineMaxBytes bounds one line of a stream: one command, as a single write.
	StreamLineMaxBytes = DefaultBodyMaxBytes
	// StreamChunkDeadline is how long the server waits for one chunk to arrive and its
	// answer to leave; the connection's own read and write timeouts would cut a long
	// stream, so each chunk extends them by this much.
	StreamChunkDeadline = 60 * time.Second
	// streamChunkKeySep joins the request's Idempotency-Key and the chunk index.
	streamChunkKeySep = "/chunk-"
)

// isJSONLines reports whether the request body is declared as JSON Lines.
func isJSONLines(c echo.Context) bool {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err == nil && mt == MIMEJSONLines
}

// StreamChunkAnswer is the answer line of one recorded chunk of a JSON Lines batch (the
// wire shape clients such as `ledger import` read back).
type StreamChunkAnswer struct {
	Chunk     int   `json:"chunk"`
	FirstLine int   `json:"first_line"`
	LastLine  int   `json:"last_line"`
	First     int64 `json:"first"`
	Last      int64 `json:"last"`
	Replayed  bool  `json:"replayed"`
}

// handleBatchStream serves a JSON Lines POST /v1/batch. A refusal before anything is
// recorded is an ordinary problem answer (4xx, nothing stored). Once a chunk is
// recorded the answer is 200 with one JSON line per chunk; a later refusal is a last
// line {"chunk":i,"error":problem} whose problem names the stream's line number, after
// which the rest of the stream is not read: the chunks before it stay recorded.
// A stream read to its end answers a last line {"done":true,"commands":n,"chunks":m}.
func (s *Server) handleBatchStream(c echo.Context, key string) error {
	r := c.Request()
	if _, params, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") {
		return &statusError{http.StatusUnsupportedMediaType, "the request body must be UTF-8"}
	}
	rc := http.NewResponseController(c.Response().Writer)
	// Answer lines go out while the stream is still being read.
	_ = rc.EnableFullDuplex()
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 0, 64<<10), StreamLineMaxBytes)
	var (
		line, chunk, total int
		cmds               = make([]ledger.Command, 0, StreamChunkCommands)
		kinds              = make([]*commandKind, 0, StreamChunkCommands)
		lines              = make([]int, 0, StreamChunkCommands)
		started, stopped   bool
		out                []byte
	)
	// refuse ends the stream with err, naming the stream line n (0 for none); prefix is
	// the writer's "commands[i]" naming that line within its chunk.
	refuse := func(err error, n int, prefix string) error {
		p := problemFor(err)
		if prefix != "" {
			p.Field = strings.TrimPrefix(strings.TrimPrefix(p.Field, prefix), ".")
		}
		if n > 0 {
			p.StreamLine = n
			p.Detail = "line " + strconv.Itoa(n) + ": " + p.Detail
		}
		if !started {
			return &problemError{p}
		}
		stopped = true
		s.cfg.Observer.Refused(p.Code)
		p.RequestID = requestIDOf(c)
		b, merr := json.Marshal(struct {
			Chunk int      `json:"chunk"`
			Error *problem `json:"error"`
		}{chunk, p})
		if merr != nil {
			return merr
		}
		_, werr := c.Response().Write(append(b, '\n'))
		_ = rc.Flush()
		return werr
	}
	flush := func() error {
		if len(cmds) == 0 {
			return nil
		}
		ck := ""
		if key != "" {
			ck = key + streamChunkKeySep + strconv.Itoa(chunk)
		}
		req := newRequest(c, ck, true, cmds...)
		if ck != "" {
			req.Hash = fingerprint(c.Path()+" "+MIMEJSONLines, &batchRequest{kinds: kinds, commands: cmds, atomic: true})
		}
		res, err := s.submit(c, req)
		if err != nil {
			return refuse(err, 0, "")
		}
		if res.Err != nil {
			n, prefix, err := streamLineError(res.Err, lines)
			return refuse(err, n, prefix)
		}
		a := StreamChunkAnswer{Chunk: chunk, FirstLine: lines[0], LastLine: lines[len(lines)-1], Replayed: res.Replayed, First: res.First, Last: res.Last}
		if !res.Replayed && len(res.Events) > 0 {
			a.First, a.Last = res.Events[0].Position, res.Events[len(res.Events)-1].Position
		}
		if !started {
			started = true
			c.Response().Header().Set(echo.HeaderContentType, MIMEJSONLines)
			c.Response().WriteHeader(http.StatusOK)
		}
		out = appendChunkAnswer(out[:0], &a)
		if _, err := c.Response().Write(out); err != nil {
			return err
		}
		_ = rc.Flush()
		total += len(cmds)
		chunk++
		cmds, kinds, lines = cmds[:0], kinds[:0], lines[:0]
		_ = rc.SetReadDeadline(time.Now().Add(StreamChunkDeadline))
		_ = rc.SetWriteDeadline(time.Now().Add(StreamChunkDeadline))
		return nil
	}
	_ = rc.SetReadDeadline(time.Now().Add(StreamChunkDeadline))
	_ = rc.SetWriteDeadline(time.Now().Add(StreamChunkDeadline))
	strs := make(map[string]string, internMax/16) // shared by the stream's lines (decoder.strs)
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		d := &decoder{data: b, strs: strs}
		k, cmd, err := d.typedCommand()
		if err == nil {
			err = d.end()
		}
		if err == nil {
			err = cmd.Validate()
		}
		if err != nil {
			return refuse(err, line, "")
		}
		cmds, kinds, lines = append(cmds, cmd), append(kinds, k), append(lines, line)
		if len(cmds) == StreamChunkCommands {
			if err := flush(); err != nil || stopped {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return refuse(&ledger.Error{Code: ledger.CodePayloadTooLarge,
				Message: fmt.Sprintf("a line holds at most %d bytes", StreamLineMaxBytes)}, line+1, "")
		}
		return refuse(invalidArg("", "could not read the request body: "+err.Error()), line+1, "")
	}
	if total == 0 && len(cmds) == 0 {
		return invalidArg("commands", "at least one command is required: one JSON object per line")
	}
	if err := flush(); err != nil || stopped {
		return err
	}
	out = append(out[:0], `{"done":true,"commands":`...)
	out = strconv.AppendInt(out, int64(total), 10)
	out = append(out, `,"chunks":`...)
	out = strconv.AppendInt(out, int64(chunk), 10)
	out = append(out, "}\n"...)
	_, err := c.Response().Write(out)
	return err
}

// appendChunkAnswer appends a's answer line.
func appendChunkAnswer(b []byte, a *StreamChunkAnswer) []byte {
	b = append(b, `{"chunk":`...)
	b = strconv.AppendInt(b, int64(a.Chunk), 10)
	b = append(b, `,"first_line":`...)
	b = strconv.AppendInt(b, int64(a.FirstLine), 10)
	b = append(b, `,"last_line":`...)
	b = strconv.AppendInt(b, int64(a.LastLine), 10)
	b = append(b, `,"first":`...)
	b = strconv.AppendInt(b, a.First, 10)
	b = append(b, `,"last":`...)
	b = strconv.AppendInt(b, a.Last, 10)
	b = append(b, `,"replayed":`...)
	b = strconv.AppendBool(b, a.Replayed)
	return append(b, "}\n"...)
}

// streamLineError maps the writer's refusal of a chunk to the stream line of the command
// it names, and the field prefix naming it within the chunk: a chunk of one command is
// refused with an unprefixed field, a larger one with "commands[i]…".
func streamLineError(err error, lines []int) (line int, prefix string, _ error) {
	if !isCommandError(err) {
		return 0, "", err
	}
	if len(lines) == 1 {
		return lines[0], "", err
	}
	f := ledger.Field(err)
	const pre = "commands["
	end := strings.IndexByte(f, ']')
	if !strings.HasPrefix(f, pre) || end < len(pre) {
		return 0, "", err
	}
	i, perr := strconv.Atoi(f[len(pre):end])
	if perr != nil || i < 0 || i >= len(lines) {
		return 0, "", err
	}
	return lines[i], f[:end+1], err
}
