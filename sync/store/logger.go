package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// SetLogger routes go-redis's own log lines (pool and reconnect notices,
// which it otherwise prints as plain text on stderr and which break
// --log-format json) through log, as warnings with component=redis. The
// go-redis logger is process-wide: call it once, when the daemon's logger
// is built and before Open.
func SetLogger(log zerolog.Logger) {
	redis.SetLogger(redisLogger{log: log.With().Str("component", "redis").Logger()})
}

// redisLogger adapts zerolog to go-redis's internal.Logging.
type redisLogger struct{ log zerolog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Warn().Ctx(ctx).Msg(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
