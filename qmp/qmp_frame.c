/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp_frame.c - cut a QMP byte stream into JSON values.
 *
 * QMP sends JSON objects back to back, usually separated by CR LF.  We can't
 * simply retry json_loadb(..., JSON_DISABLE_EOF_CHECK) on the buffered bytes
 * and wait while it reports json_error_premature_end_of_input: jansson
 * reports a value cut inside a token ("tr", "1.", "\u00", half of a UTF-8
 * sequence) as invalid syntax, so a message split at such a byte would be
 * taken for garbage.  Instead a small incremental scanner tracks strings,
 * escapes and bracket depth (as QEMU's own json-streamer does) to find where
 * a value ends; jansson then parses exactly that span and reports any real
 * syntax error.  The scan resumes where it stopped, so a message arriving
 * byte by byte costs O(n), not O(n^2).
 */
#include <stdio.h>
#include <string.h>

#include "qmp/qmp.h"
#include "qmp/qmp_int.h"

#define READ_CHUNK ((size_t)64 << 10)
/* Buffer bound: a partial value may reach QMP_MAX_MESSAGE plus one read
 * before the size check sees it, plus room for the next read. */
#define BUF_MAX ((size_t)QMP_MAX_MESSAGE + 2 * READ_CHUNK)
/* Give memory back after a large message once the buffer is empty. */
#define BUF_KEEP ((size_t)1 << 20)

char *qmp_frame_space(struct qmp_frame *f, size_t *avail)
{
  if (f->start == f->len) { /* everything consumed: restart cheaply */
    f->start = f->len = f->scan = 0;
    if (f->cap > BUF_KEEP) {
      free(f->buf);
      f->buf = NULL;
      f->cap = 0;
    }
  }
  if (f->cap - f->len < READ_CHUNK && f->start > 0) {
    /* Only compact when short of room, so a big message arriving in many
     * reads is not moved again on every read. */
    memmove(f->buf, f->buf + f->start, f->len - f->start);
    f->len -= f->start;
    f->scan -= f->start;
    f->start = 0;
  }
  if (f->cap - f->len < READ_CHUNK) {
    size_t want = f->len + READ_CHUNK;
    if (want > BUF_MAX)
      return NULL; /* unreachable while callers drain until MORE */
    size_t ncap = f->cap ? f->cap : READ_CHUNK;
    while (ncap < want)
      ncap = ncap > BUF_MAX / 2 ? BUF_MAX : ncap * 2;
    char *nbuf = realloc(f->buf, ncap);
    if (!nbuf)
      return NULL;
    f->buf = nbuf;
    f->cap = ncap;
  }
  *avail = f->cap - f->len;
  return f->buf + f->len;
}

void qmp_frame_commit(struct qmp_frame *f, size_t n)
{
  f->len += n;
}

static bool is_ws(unsigned char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The one JSON lexer step every scan here uses: strings (with escapes)
 * skipped, brackets outside them reported.  Nothing else is checked:
 * mismatches and bad tokens are jansson's to find. */
enum jtok { J_IN_STRING, J_STRING_START, J_STRING_END, J_OPEN, J_CLOSE, J_OTHER };

static enum jtok jscan(bool *in_str, bool *esc, char ch)
{
  if (*in_str) {
    if (*esc)
      *esc = false;
    else if (ch == '\\')
      *esc = true;
    else if (ch == '"') {
      *in_str = false;
      return J_STRING_END;
    }
    return J_IN_STRING;
  }
  if (ch == '"') {
    *in_str = true;
    return J_STRING_START;
  }
  if (ch == '{' || ch == '[')
    return J_OPEN;
  return ch == '}' || ch == ']' ? J_CLOSE : J_OTHER;
}

int qmp_frame_next_span(struct qmp_frame *f, const char **span, size_t *spanlen, char *why,
                        size_t whylen)
{
  *span = NULL;
  *spanlen = 0;
  while (f->scan < f->len) {
    unsigned char ch = (unsigned char)f->buf[f->scan++];
    if (f->depth == 0) {
      if (is_ws(ch)) {
        f->start = f->scan;
        continue;
      }
      if (ch != '{' && ch != '[') {
        if (ch >= 0x20 && ch < 0x7f)
          snprintf(why, whylen, "unexpected '%c' between messages", ch);
        else
          snprintf(why, whylen, "unexpected byte 0x%02x between messages", ch);
        return QMP_FRAME_MALFORMED;
      }
      f->depth = 1;
      continue;
    }
    enum jtok k = jscan(&f->in_str, &f->esc, (char)ch);
    if (k == J_OPEN) {
      f->depth++;
    } else if (k == J_CLOSE && --f->depth == 0) {
      size_t n = f->scan - f->start;
      const char *p = f->buf + f->start;
      f->start = f->scan;
      if (n > QMP_MAX_MESSAGE)
        return QMP_FRAME_TOOBIG;
      *span = p;
      *spanlen = n;
      return QMP_FRAME_VALUE;
    }
  }
  if (f->depth > 0 && f->len - f->start > QMP_MAX_MESSAGE)
    return QMP_FRAME_TOOBIG;
  return QMP_FRAME_MORE;
}

int qmp_frame_parse(const char *p, size_t n, json_t **out, char *why, size_t whylen)
{
  /* Mismatched brackets and bad tokens are jansson's to find. */
  json_error_t err;
  *out = json_loadb(p, n, 0, &err);
  if (!*out) {
    snprintf(why, whylen, "%s (byte %d of a %zu-byte message)", err.text, err.position, n);
    return QMP_FRAME_MALFORMED;
  }
  return QMP_FRAME_VALUE;
}

int qmp_frame_next(struct qmp_frame *f, json_t **out, char *why, size_t whylen)
{
  const char *p;
  size_t n;
  *out = NULL;
  int r = qmp_frame_next_span(f, &p, &n, why, whylen);
  return r == QMP_FRAME_VALUE ? qmp_frame_parse(p, n, out, why, whylen) : r;
}

/* One past the bracket that closes the value opening at p[i], with that
 * bracket in *last; 0 when it does not close within n. */
static size_t value_end(const char *p, size_t n, size_t i, char *last)
{
  bool in_str = false, esc = false;
  for (size_t d = 0; i < n; i++) {
    enum jtok k = jscan(&in_str, &esc, p[i]);
    if (k == J_OPEN) {
      d++;
    } else if (k == J_CLOSE && --d == 0) {
      *last = p[i];
      return i + 1;
    }
  }
  return 0;
}

bool qmp_frame_return_array(const char *p, size_t n, size_t *a0, size_t *a1)
{
  size_t depth = 0, key0 = 0;
  bool in_str = false, esc = false, key_pos = false, is_return = false, value_pos = false;
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    enum jtok k = jscan(&in_str, &esc, ch);
    if (k == J_STRING_END && depth == 1 && key_pos) /* a key of the top-level object */
      is_return = i - key0 == 6 && memcmp(p + key0, "return", 6) == 0;
    if (k == J_IN_STRING || k == J_STRING_END)
      continue;
    if (depth == 1 && value_pos && !is_ws((unsigned char)ch)) {
      value_pos = false;
      if (is_return && ch == '[') {
        char last = 0;
        *a0 = i;
        *a1 = value_end(p, n, i, &last);
        return *a1 && last == ']'; /* inside, mismatches are jansson's to find */
      }
    }
    if (k == J_STRING_START) {
      key0 = i + 1;
    } else if (k == J_OPEN) {
      key_pos = ++depth == 1 && ch == '{';
    } else if (k == J_CLOSE) {
      if (depth == 0 || --depth == 0)
        return false;
    } else if (depth == 1 && ch == ',') {
      key_pos = true;
    } else if (depth == 1 && ch == ':') {
      key_pos = false;
      value_pos = true;
    }
  }
  return false;
}

int qmp_text_array_items(const char *t, size_t len, int (*item)(size_t, size_t, void *),
                         void *opaque)
{
  size_t i = 0, depth = 0, obj = 0;
  bool in_str = false, esc = false;
  while (i < len && is_ws((unsigned char)t[i]))
    i++;
  if (i == len || t[i] != '[')
    return -1;
  for (; i < len; i++) {
    enum jtok k = jscan(&in_str, &esc, t[i]);
    if (k == J_OPEN) {
      if (++depth == 2 && t[i] == '{')
        obj = i;
    } else if (k == J_CLOSE) {
      if (depth-- == 2 && t[i] == '}' && t[obj] == '{' && item(obj, i + 1, opaque) < 0)
        return -1;
      if (depth == 0)
        break;
    }
  }
  if (depth != 0 || in_str)
    return -1;
  while (++i < len) /* nothing but space after the array */
    if (!is_ws((unsigned char)t[i]))
      return -1;
  return 0;
}

void qmp_frame_free(struct qmp_frame *f)
{
  free(f->buf);
  memset(f, 0, sizeof *f);
}

int qmp_frame_parse_cut(const char *p, size_t n, json_t **out, char **text, size_t *textlen,
                        char *why, size_t whylen)
{
  size_t a0, a1;
  *out = NULL;
  *text = NULL;
  *textlen = 0;
  if (!qmp_frame_return_array(p, n, &a0, &a1))
    return qmp_frame_parse(p, n, out, why, whylen);
  size_t skel_len = n - (a1 - a0) + 2;
  char *skel = malloc(skel_len);
  char *arr = malloc(a1 - a0 + 1);
  if (!skel || !arr) {
    free(skel);
    free(arr);
    return QMP_FRAME_NOMEM;
  }
  memcpy(skel, p, a0);
  memcpy(skel + a0, "[]", 2);
  memcpy(skel + a0 + 2, p + a1, n - a1);
  int r = qmp_frame_parse(skel, skel_len, out, why, whylen);
  free(skel);
  if (r != QMP_FRAME_VALUE) {
    free(arr);
    return r;
  }
  memcpy(arr, p + a0, a1 - a0);
  arr[a1 - a0] = '\0';
  *text = arr;
  *textlen = a1 - a0;
  return r;
}
