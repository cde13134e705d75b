/* libconfig's grammar (grammar.y of libconfig 1.5) as a pushdown automaton
 * over the tokens of conf_lex.c:
 *
 *   configuration  setting*
 *   setting        name ("=" | ":") value (";" | ",")?
 *   value          string+ | integer | float | boolean | array | list | group
 *   array          "[" (scalar ("," scalar)*)? "]"   scalars of one type
 *   list           "(" (value ("," value)*)? ")"
 *   group          "{" setting* "}"                   names unique
 *
 * Each open bracket is a frame that remembers the file and line where it
 * was opened and the setting it belongs to, so that a problem can say where
 * to look. An included file must close what it opens: libconfig pastes it
 * in place, and a bracket left open there is reported in the next file. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_syntax.h"
#include "diag.h"

/* Deeper than this, the check gives up (libconfig's own bound is bison's
 * stack, 10000): no configuration nests so deep by mistake. */
#define MAX_FRAMES 256

typedef enum { F_ROOT, F_GROUP, F_LIST, F_ARRAY } frame_kind;

typedef enum {
  S_NAME,          /* a setting name, or the group's "}" */
  S_AFTER_SETTING, /* ";" or "," or what S_NAME takes */
  S_EQUALS,        /* "=" or ":" */
  S_VALUE,         /* the setting's value */
  S_FIRST_ELEM,    /* a value or the closing bracket */
  S_ELEM,          /* a value (after ",") */
  S_AFTER_ELEM,    /* "," or the closing bracket */
} frame_state;

/* A text kept in the arena: offset and length. */
typedef struct text_ref {
  size_t off, len;
} text_ref;

typedef struct name_ref {
  text_ref name;
  unsigned file, line;
  uint32_t hash;
} name_ref;

typedef struct frame {
  frame_kind kind;
  frame_state st;
  unsigned file, line; /* where the bracket was opened */
  text_ref owner;      /* "inputs", "inputs[0]": the setting it is the value of */
  name_ref *names;     /* ROOT, GROUP: the names set so far */
  size_t nnames, capnames;
  uint32_t *slots;   /* hash index of names: index + 1, 0 when empty */
  size_t nslots;     /* a power of two, at least twice nnames */
  unsigned elems;    /* LIST, ARRAY: elements so far */
  int elem_class;    /* ARRAY: type of the first element */
  bool after_string; /* the last value was a string: another continues it */
  name_ref suspect;  /* GROUP: a top-level name met inside it */
} frame;

struct twi_syntax {
  frame stack[MAX_FRAMES];
  size_t depth; /* frames in use; stack[0] is the root */
  char *arena;
  size_t alen, acap;
  text_ref *files; /* names of the files entered, by index */
  size_t nfiles, capfiles;
  unsigned reading[64]; /* the files being read, innermost last */
  size_t nreading;
  text_ref pending; /* the setting name awaiting its value */
  unsigned pending_line;
  bool gave_up;
  char problem[1536];
};

static const char *const top_level[] = {"agent",      "global_tags", "inputs",
                                        "processors", "outputs",     NULL};

/* ---- storage ------------------------------------------------------------ */

static text_ref keep(twi_syntax *s, const char *p, size_t n) {
  if (s->alen + n + 1 > s->acap) {
    size_t cap = s->acap ? s->acap * 2 : 1024;
    while (cap < s->alen + n + 1)
      cap *= 2;
    char *a = realloc(s->arena, cap);
    if (!a) {
      s->gave_up = true; /* explaining is a courtesy: out of memory, stop */
      return (text_ref){0, 0};
    }
    s->arena = a;
    s->acap = cap;
  }
  memcpy(s->arena + s->alen, p, n);
  s->arena[s->alen + n] = '\0';
  text_ref r = {s->alen, n};
  s->alen += n + 1;
  return r;
}

static const char *str(const twi_syntax *s, text_ref r) {
  return r.len && s->arena ? s->arena + r.off : "";
}

twi_syntax *twi_syntax_new(void) {
  twi_syntax *s = calloc(1, sizeof *s);
  if (s)
    s->depth = 1; /* the root frame, all zeros: F_ROOT in S_NAME */
  return s;
}

void twi_syntax_free(twi_syntax *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->depth; i++) {
    free(s->stack[i].names);
    free(s->stack[i].slots);
  }
  free(s->files);
  free(s->arena);
  free(s);
}

static unsigned current_file(const twi_syntax *s) {
  return s->nreading ? s->reading[s->nreading - 1] : 0;
}

static const char *file_name(const twi_syntax *s, unsigned file) {
  return file < s->nfiles ? str(s, s->files[file]) : "?";
}

void twi_syntax_enter(twi_syntax *s, const char *name) {
  if (s->nreading == sizeof s->reading / sizeof *s->reading || s->nfiles == UINT32_MAX) {
    s->gave_up = true;
    return;
  }
  if (s->nfiles == s->capfiles) {
    size_t cap = s->capfiles ? s->capfiles * 2 : 8;
    text_ref *f = realloc(s->files, cap * sizeof *f);
    if (!f) {
      s->gave_up = true;
      return;
    }
    s->files = f;
    s->capfiles = cap;
  }
  s->files[s->nfiles] = keep(s, name, strlen(name));
  s->reading[s->nreading++] = (unsigned)s->nfiles++;
}

/* ---- problems ----------------------------------------------------------- */

static void problem(twi_syntax *s, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(twi_syntax *s, unsigned line, const char *fmt, ...) {
  if (s->problem[0])
    return;
  int n = snprintf(s->problem, sizeof s->problem,
                   "%s:%u: syntax error: ", file_name(s, current_file(s)), line);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof s->problem)
    vsnprintf(s->problem + n, sizeof s->problem - (size_t)n, fmt, ap);
  va_end(ap);
  twi_one_line(s->problem); /* text quoted from the file stays on its line */
}

static char closer(frame_kind k) {
  return k == F_GROUP ? '}' : k == F_LIST ? ')' : ']';
}

static char opener(frame_kind k) {
  return k == F_GROUP ? '{' : k == F_LIST ? '(' : '[';
}

/* `"(" of inputs opened at main.conf:3` (the file only when another). */
static void describe(const twi_syntax *s, const frame *f, char *buf, size_t len) {
  char of[160] = "";
  if (f->owner.len)
    snprintf(of, sizeof of, " of %s", str(s, f->owner));
  if (f->file == current_file(s))
    snprintf(buf, len, "\"%c\"%s opened at line %u", opener(f->kind), of, f->line);
  else
    snprintf(buf, len, "\"%c\"%s opened at %s:%u", opener(f->kind), of, file_name(s, f->file),
             f->line);
}

/* A token as the operator wrote it, for messages. */
static void shown(const twi_tok *t, char *buf, size_t len) {
  if (t->kind == TWI_TOK_END)
    snprintf(buf, len, "the end of the file");
  else if (t->kind == TWI_TOK_GARBAGE && !isprint((unsigned char)t->text[0]))
    snprintf(buf, len, "byte 0x%02x", (unsigned char)t->text[0]);
  else
    snprintf(buf, len, "\"%.*s\"", t->len > 40 ? 40 : (int)t->len, t->text);
}

static bool is_punct(const twi_tok *t, char c) {
  return t->kind == TWI_TOK_PUNCT && t->text[0] == c;
}

static bool is_closer(const twi_tok *t) {
  return t->kind == TWI_TOK_PUNCT && strchr("}])", t->text[0]);
}

static bool is_scalar(const twi_tok *t) {
  return t->kind == TWI_TOK_STRING || t->kind == TWI_TOK_INT || t->kind == TWI_TOK_FLOAT ||
         t->kind == TWI_TOK_BOOL;
}

/* A closing bracket that does not match the innermost open one. */
static void mismatched(twi_syntax *s, const frame *f, const twi_tok *t) {
  char what[256];
  if (f->kind == F_ROOT) {
    problem(s, t->line, "\"%c\" closes nothing: no bracket is open here (one too many?)",
            t->text[0]);
    return;
  }
  describe(s, f, what, sizeof what);
  problem(s, t->line, "\"%c\" where \"%c\" is expected: the %s is not closed", t->text[0],
          closer(f->kind), what);
}

static void garbage(twi_syntax *s, const twi_tok *t) {
  unsigned char c = (unsigned char)t->text[0];
  char tok[64];
  shown(t, tok, sizeof tok);
  if (c == '\'')
    problem(s, t->line,
            "single quotes are not libconfig syntax: write strings in double quotes "
            "(\"...\")");
  else if (c == '$')
    problem(s, t->line,
            "\"$\" outside a string: environment variables are replaced inside "
            "strings only, as in \"${VAR}\"");
  else if (c == '@')
    problem(s, t->line,
            "@include must begin its own line and name the file in double quotes: "
            "@include \"file.conf\"");
  else if (c == '#' || c == '/')
    problem(s, t->line,
            "a comment on the last line must end with a newline (libconfig's rule): "
            "end the file with one");
  else if (c == 0xEF && t->line == 1)
    problem(s, t->line,
            "the file starts with a byte order mark (BOM); save it as UTF-8 without "
            "a BOM");
  else
    problem(s, t->line,
            "unexpected %s: not part of libconfig's syntax (settings are written "
            "name = value;)",
            tok);
}

/* ---- frames ------------------------------------------------------------- */

static void push(twi_syntax *s, const twi_tok *t, text_ref owner) {
  if (s->depth == MAX_FRAMES) {
    s->gave_up = true;
    return;
  }
  frame *f = &s->stack[s->depth++];
  memset(f, 0, sizeof *f);
  char c = t->text[0];
  f->kind = c == '{' ? F_GROUP : c == '(' ? F_LIST : F_ARRAY;
  f->st = f->kind == F_GROUP ? S_NAME : S_FIRST_ELEM;
  f->file = current_file(s);
  f->line = t->line;
  f->owner = owner;
}

static void pop(twi_syntax *s) {
  frame *f = &s->stack[--s->depth];
  free(f->names);
  free(f->slots);
  f->names = NULL;
  f->slots = NULL;
  s->stack[s->depth - 1].after_string = false;
}

/* The owner of a bracket that is the value of the pending setting, or the
 * next element of the list `f`. */
static text_ref owner_of_value(twi_syntax *s, const frame *f) {
  if (f->kind == F_ROOT || f->kind == F_GROUP)
    return s->pending;
  char buf[200];
  snprintf(buf, sizeof buf, "%s[%u]", f->owner.len ? str(s, f->owner) : "", f->elems);
  return keep(s, buf, strlen(buf));
}

/* A value where one may stand: a scalar, or an opening bracket. Sets the
 * frame's state to `next` (what follows the value). */
static bool value(twi_syntax *s, frame *f, const twi_tok *t, frame_state next) {
  if (is_scalar(t)) {
    f->st = next;
    f->after_string = t->kind == TWI_TOK_STRING;
    return true;
  }
  if (!is_punct(t, '{') && !is_punct(t, '(') && !is_punct(t, '['))
    return false;
  text_ref owner = owner_of_value(s, f);
  f->st = next;
  push(s, t, owner);
  return true;
}

/* ---- settings: root and groups ------------------------------------------ */

static bool names_equal(const twi_syntax *s, const name_ref *a, const char *p, size_t n) {
  return a->name.len == n && memcmp(str(s, a->name), p, n) == 0;
}

static void duplicate(twi_syntax *s, const frame *f, const name_ref *first, const twi_tok *t) {
  bool root = f->kind == F_ROOT;
  bool other = first->file != current_file(s);
  char where[600];
  if (other)
    snprintf(where, sizeof where, "%s:%u", file_name(s, first->file), first->line);
  else
    snprintf(where, sizeof where, "line %u", first->line);
  problem(s, t->line, "\"%.*s\" is set twice %s: first at %s%s", (int)t->len, t->text,
          root ? "at the top level" : "in the same group", where,
          root && other ? "; an @include'd file is read in place, as if written where the "
                          "@include stands, so it cannot set again what the including file sets: "
                          "to add the plugins of other files, @include a pattern (conf.d/*.conf) "
                          "or use --config-directory"
                        : "");
}

/* ---- the names of a group: a hash index, since a group may hold many
 * (libconfig itself compares each new name with all the others) ---- */

static uint32_t hash_name(const char *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 16777619u;
  return h;
}

/* The slot holding the name (p, n), or the empty one where it would go. */
static size_t slot_of(const twi_syntax *s, const frame *f, const char *p, size_t n, uint32_t h) {
  size_t mask = f->nslots - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t e = f->slots[i];
    if (!e || (f->names[e - 1].hash == h && names_equal(s, &f->names[e - 1], p, n)))
      return i;
  }
}

/* Room for one more name in the list and in the index. */
static bool make_room(twi_syntax *s, frame *f) {
  if (f->nnames == f->capnames) {
    size_t cap = f->capnames ? f->capnames * 2 : 8;
    name_ref *n = realloc(f->names, cap * sizeof *n);
    if (!n)
      return false;
    f->names = n;
    f->capnames = cap;
  }
  if ((f->nnames + 1) * 2 <= f->nslots)
    return true;
  size_t nslots = f->nslots ? f->nslots * 2 : 16;
  uint32_t *slots = calloc(nslots, sizeof *slots);
  if (!slots)
    return false;
  free(f->slots);
  f->slots = slots;
  f->nslots = nslots;
  for (size_t k = 0; k < f->nnames; k++) {
    const name_ref *r = &f->names[k];
    f->slots[slot_of(s, f, str(s, r->name), r->name.len, r->hash)] = (uint32_t)k + 1;
  }
  return true;
}

/* Remembers a setting name of the group (and a top-level name met inside a
 * top-level group, the trace of a missing "}"). */
static void add_name(twi_syntax *s, frame *f, const twi_tok *t) {
  uint32_t h = hash_name(t->text, t->len);
  size_t at = f->nslots ? slot_of(s, f, t->text, t->len, h) : 0;
  if (f->nslots && f->slots[at]) {
    duplicate(s, f, &f->names[f->slots[at] - 1], t);
    return;
  }
  if (f->nnames >= UINT32_MAX - 1 || !make_room(s, f)) {
    s->gave_up = true;
    return;
  }
  name_ref r = {keep(s, t->text, t->len), current_file(s), t->line, h};
  f->names[f->nnames++] = r;
  f->slots[slot_of(s, f, t->text, t->len, h)] = (uint32_t)f->nnames;
  s->pending = r.name;
  s->pending_line = t->line;
  if (f->kind == F_GROUP && s->depth == 2 && !f->suspect.line)
    for (size_t i = 0; top_level[i]; i++)
      if (strlen(top_level[i]) == t->len && memcmp(top_level[i], t->text, t->len) == 0 &&
          strcmp(str(s, f->owner), top_level[i]) != 0)
        f->suspect = r;
}

/* "[agent]" or "[[inputs.cpu]]" at the start of a setting: Telegraf's TOML. */
static bool toml_table(const twi_tok *t) {
  const char *p = t->text;
  p += p[1] == '[' ? 2 : 1;
  size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-\"");
  return n > 0 && p[n] == ']';
}

static void name_expected(twi_syntax *s, const frame *f, const twi_tok *t) {
  char tok[64];
  shown(t, tok, sizeof tok);
  const char *owner = str(s, f->owner);
  bool plugins =
      !strcmp(owner, "inputs") || !strcmp(owner, "processors") || !strcmp(owner, "outputs");
  if (f->kind == F_ROOT && is_punct(t, '[') && toml_table(t))
    problem(s, t->line,
            "this is a Telegraf configuration (TOML tables such as [agent] and "
            "[[inputs.cpu]]); tower reads libconfig syntax: agent = { ... }; inputs "
            "= ( { plugin = \"cpu\"; } ); see tower.conf(5) and \"Coming from "
            "Telegraf\" in the README");
  else if (is_closer(t))
    mismatched(s, f, t);
  else if (is_punct(t, ';') || is_punct(t, ','))
    problem(s, t->line, "%s with no setting before it to end (one too many?)", tok);
  else if (is_punct(t, '=') || is_punct(t, ':'))
    problem(s, t->line, "%s without a setting name before it: write name = value;", tok);
  else if (is_punct(t, '{') && plugins)
    problem(s, t->line,
            "a group { } holds settings (name = value;); a list of plugin blocks is "
            "written %s = ( { plugin = \"...\"; }, { ... } );",
            owner);
  else if (is_punct(t, '{') || is_punct(t, '(') || is_punct(t, '['))
    problem(s, t->line, "%s without a setting name: write name = %s ... %c;", tok, tok + 1,
            t->text[0] == '{'   ? '}'
            : t->text[0] == '(' ? ')'
                                : ']');
  else if (t->kind == TWI_TOK_STRING)
    problem(s, t->line, "a setting name is written without quotes: name = value, not %.*s = value",
            t->len > 40 ? 40 : (int)t->len, t->text);
  else if (t->kind == TWI_TOK_BOOL)
    problem(s, t->line, "%s cannot name a setting: true and false are values", tok);
  else
    problem(s, t->line, "expected a setting name (a letter, then letters, digits, _ or -), not %s",
            tok);
}

static void equals_expected(twi_syntax *s, const twi_tok *t) {
  const char *name = str(s, s->pending);
  char tok[64];
  shown(t, tok, sizeof tok);
  if (is_punct(t, '{') || is_punct(t, '(') || is_punct(t, '['))
    problem(s, t->line, "\"=\" missing after \"%s\": write %s = %c ... %c;", name, name, t->text[0],
            t->text[0] == '{'   ? '}'
            : t->text[0] == '(' ? ')'
                                : ']');
  else if (is_scalar(t))
    problem(s, t->line, "\"=\" missing between \"%s\" and its value: write %s = %s;", name, name,
            tok);
  else if (t->line != s->pending_line || t->kind == TWI_TOK_END || is_punct(t, ';'))
    problem(s, s->pending_line, "\"%s\" has no value: write %s = value;", name, name);
  else
    problem(s, t->line, "expected \"=\" after \"%s\", not %s", name, tok);
}

static void value_expected(twi_syntax *s, const twi_tok *t) {
  const char *name = str(s, s->pending);
  char tok[64];
  shown(t, tok, sizeof tok);
  if (t->kind == TWI_TOK_NAME)
    problem(s, t->line, "text values are written in double quotes: %s = \"%.*s\";", name,
            (int)t->len, t->text);
  else
    problem(s, t->line, "the value of \"%s\" is missing before %s", name, tok);
}

static void in_group(twi_syntax *s, frame *f, const twi_tok *t) {
  if (f->st == S_AFTER_SETTING) {
    if (t->kind == TWI_TOK_STRING && f->after_string)
      return;       /* "a" "b" is "ab" */
    f->st = S_NAME; /* the terminator is optional */
    if (is_punct(t, ';') || is_punct(t, ','))
      return;
  }
  switch (f->st) {
  case S_NAME:
    if (t->kind == TWI_TOK_NAME) {
      add_name(s, f, t);
      f->st = S_EQUALS;
    } else if (f->kind == F_GROUP && is_punct(t, '}')) {
      pop(s);
    } else {
      name_expected(s, f, t);
    }
    return;
  case S_EQUALS:
    if (is_punct(t, '=') || is_punct(t, ':'))
      f->st = S_VALUE;
    else
      equals_expected(s, t);
    return;
  default:
    if (!value(s, f, t, S_AFTER_SETTING))
      value_expected(s, t);
  }
}

/* ---- lists and arrays --------------------------------------------------- */

/* The type of an array element, as libconfig compares them (an L makes an
 * integer a different type). */
static int scalar_class(const twi_tok *t) {
  if (t->kind == TWI_TOK_INT)
    return t->text[t->len - 1] == 'L' ? 2 : 1;
  return t->kind == TWI_TOK_FLOAT ? 3 : t->kind == TWI_TOK_STRING ? 4 : 5;
}

static void element_expected(twi_syntax *s, frame *f, const twi_tok *t) {
  char what[256], tok[64];
  describe(s, f, what, sizeof what);
  shown(t, tok, sizeof tok);
  const char *owner = str(s, f->owner);
  bool plugins =
      !strcmp(owner, "inputs") || !strcmp(owner, "processors") || !strcmp(owner, "outputs");
  if (f->kind == F_ARRAY && is_punct(t, '{'))
    problem(s, t->line,
            "an array [ ] holds only strings, numbers or booleans; a list of groups "
            "is written with parentheses: %s = ( { ... }, { ... } );",
            plugins ? owner : "name");
  else if (f->kind == F_ARRAY && (is_punct(t, '[') || is_punct(t, '(')))
    problem(s, t->line,
            "an array [ ] holds only strings, numbers or booleans; nest lists with "
            "parentheses: ( ( 1, 2 ), ( 3 ) )");
  else if (is_punct(t, closer(f->kind)) && f->st == S_ELEM)
    problem(s, t->line, "\",\" before \"%c\": libconfig allows no comma after the last element",
            t->text[0]);
  else if (is_closer(t))
    mismatched(s, f, t);
  else if (t->kind == TWI_TOK_NAME && f->kind == F_LIST)
    problem(s, t->line,
            "a list ( ) holds values, not settings such as %.*s = ...; a plugin block is a "
            "group in the list: ( { plugin = \"...\"; ... } )",
            t->len > 40 ? 40 : (int)t->len, t->text);
  else if (t->kind == TWI_TOK_NAME)
    problem(s, t->line, "text values are written in double quotes: \"%.*s\"", (int)t->len, t->text);
  else
    problem(s, t->line, "expected a value in the %s, not %s", what, tok);
}

static void separator_expected(twi_syntax *s, const frame *f, const twi_tok *t) {
  char what[256], tok[64];
  describe(s, f, what, sizeof what);
  shown(t, tok, sizeof tok);
  char c = closer(f->kind);
  if (is_closer(t))
    mismatched(s, f, t);
  else if (is_punct(t, ';'))
    problem(s, t->line,
            "\";\" inside the %s: separate elements with \",\" and close it with "
            "\"%c\" before the \";\"",
            what, c);
  else if (t->kind == TWI_TOK_NAME || t->kind == TWI_TOK_END)
    problem(s, t->line,
            "expected \",\" or \"%c\", not %s: the %s is not closed (is its \"%c\" "
            "missing?)",
            c, tok, what, c);
  else
    problem(s, t->line, "\",\" missing before %s: elements of the %s are separated by commas", tok,
            what);
}

static void in_sequence(twi_syntax *s, frame *f, const twi_tok *t) {
  if (f->st == S_AFTER_ELEM) {
    if (t->kind == TWI_TOK_STRING && f->after_string)
      return; /* "a" "b" is "ab" */
    if (is_punct(t, ','))
      f->st = S_ELEM;
    else if (is_punct(t, closer(f->kind)))
      pop(s);
    else
      separator_expected(s, f, t);
    return;
  }
  if (f->st == S_FIRST_ELEM && is_punct(t, closer(f->kind))) {
    pop(s);
    return;
  }
  if (f->kind == F_ARRAY && is_scalar(t)) {
    int cls = scalar_class(t);
    if (f->elems && cls != f->elem_class) {
      char what[256];
      describe(s, f, what, sizeof what);
      problem(s, t->line,
              "%.*s is not of the type of the first element of the %s: an array [ ] "
              "holds values of one type (strings, integers, 64-bit integers with L, "
              "floats or booleans); use a list ( ) for mixed values",
              t->len > 40 ? 40 : (int)t->len, t->text, what);
      return;
    }
    f->elem_class = cls;
  }
  if ((f->kind == F_LIST || is_scalar(t)) && value(s, f, t, S_AFTER_ELEM)) {
    f->elems++;
    return;
  }
  element_expected(s, f, t);
}

/* ---- entry points ------------------------------------------------------- */

void twi_syntax_token(twi_syntax *s, const twi_tok *t) {
  if (!s || s->gave_up || s->problem[0] || t->kind == TWI_TOK_END)
    return;
  if (t->kind == TWI_TOK_INCLUDE) {
    if (t->unterminated)
      problem(s, t->line, "@include: the file name has no closing double quote");
    return; /* the scan enters the file */
  }
  if (t->kind == TWI_TOK_GARBAGE) {
    garbage(s, t);
    return;
  }
  if (t->kind == TWI_TOK_STRING && t->unterminated) {
    problem(s, t->line, "the string that starts here has no closing double quote");
    return;
  }
  frame *f = &s->stack[s->depth - 1];
  if (f->kind == F_ROOT || f->kind == F_GROUP)
    in_group(s, f, t);
  else
    in_sequence(s, f, t);
}

/* The brackets the leaving file opened and did not close. */
static void unclosed(twi_syntax *s, size_t first, unsigned line) {
  char list[768] = "", closers[128] = "", what[256];
  size_t len = 0, clen = 0, n = 0;
  for (size_t i = s->depth; i-- > first; n++) {
    describe(s, &s->stack[i], what, sizeof what);
    if (len < sizeof list)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", n ? ", " : "", what);
    if (clen < sizeof closers)
      clen += (size_t)snprintf(closers + clen, sizeof closers - clen, "%s\"%c\"", n ? " then " : "",
                               closer(s->stack[i].kind));
  }
  const frame *outer = &s->stack[first];
  char hint[256] = "";
  if (outer->suspect.line)
    snprintf(hint, sizeof hint, "; the \"%c\" of %s probably ends before line %u, where %s begins",
             closer(outer->kind), str(s, outer->owner), outer->suspect.line,
             str(s, outer->suspect.name));
  problem(s, line, "the file ends with %s not closed: %s; add %s%s%s",
          n == 1 ? "a bracket" : "brackets", list, closers, hint,
          s->nreading > 1 ? " (an @include'd file must close every bracket it opens)" : "");
}

void twi_syntax_leave(twi_syntax *s, unsigned line) {
  if (!s || !s->nreading)
    return;
  unsigned file = current_file(s);
  if (!s->gave_up && !s->problem[0]) {
    size_t first = s->depth;
    while (first > 1 && s->stack[first - 1].file == file)
      first--;
    if (first < s->depth) {
      unclosed(s, first, line);
    } else if (s->nreading == 1) {
      frame_state st = s->stack[s->depth - 1].st;
      twi_tok end = {.kind = TWI_TOK_END, .line = line};
      if (st == S_EQUALS)
        equals_expected(s, &end);
      else if (st == S_VALUE)
        value_expected(s, &end);
    }
  }
  s->nreading--;
}

const char *twi_syntax_problem(const twi_syntax *s) {
  return s && s->problem[0] ? s->problem : NULL;
}

bool twi_syntax_at_top(const twi_syntax *s) {
  if (!s || s->gave_up || s->depth != 1 || s->nreading != 1)
    return false;
  return s->stack[0].st == S_NAME || s->stack[0].st == S_AFTER_SETTING;
}
