#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H

/* Wide-character (ncursesw) API: must be visible before <ncurses.h>. */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>
#if __has_include(<ncursesw/ncurses.h>)
#include <ncursesw/ncurses.h>
#else
#include <ncurses.h>
#endif

/* wcwidth/wcswidth sit behind __USE_XOPEN in glibc's <wchar.h>; the Glibc
 * Clang module is built without it, so Swift cannot see them. Redeclare. */
extern int wcwidth(wchar_t c);
extern int wcswidth(const wchar_t *s, size_t n);
static inline int cn_wcwidth(wchar_t c) { return wcwidth(c); }
static inline int cn_wcswidth(const wchar_t *s, size_t n) { return wcswidth(s, n); }

/* stdscr/curscr/LINES/COLS/COLORS are mutable C globals: Swift 6 rejects
 * them ("not concurrency-safe"). Read them through functions instead. */
static inline WINDOW *cn_stdscr(void) { return stdscr; }
static inline WINDOW *cn_curscr(void) { return curscr; }
static inline int cn_lines(void) { return LINES; }
static inline int cn_cols(void) { return COLS; }
static inline int cn_colors(void) { return COLORS; }

/* Function-like macros that assign to lvalues. */
static inline void cn_getmaxyx(WINDOW *w, int *y, int *x) { int a, b; getmaxyx(w, a, b); *y = a; *x = b; }
static inline void cn_getyx(WINDOW *w, int *y, int *x)    { int a, b; getyx(w, a, b);    *y = a; *x = b; }
static inline void cn_getbegyx(WINDOW *w, int *y, int *x) { int a, b; getbegyx(w, a, b); *y = a; *x = b; }
static inline int  cn_key_f(int n) { return KEY_F(n); }

/* A_* attributes are cast/shift expressions: not imported. */
static inline attr_t cn_a_normal(void)    { return A_NORMAL; }
static inline attr_t cn_a_bold(void)      { return A_BOLD; }
static inline attr_t cn_a_dim(void)       { return A_DIM; }
static inline attr_t cn_a_reverse(void)   { return A_REVERSE; }
static inline attr_t cn_a_underline(void) { return A_UNDERLINE; }
static inline attr_t cn_a_italic(void)    { return A_ITALIC; }
static inline attr_t cn_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }

/* attr_t-typed on/off (the int-typed wattron/attron functions also import). */
static inline int cn_attr_on(WINDOW *w, attr_t a)  { return wattr_on(w, a, NULL); }
static inline int cn_attr_off(WINDOW *w, attr_t a) { return wattr_off(w, a, NULL); }

/* One wide character (CJK/emoji = 2 cells) via setcchar + mvwadd_wch. */
static inline int cn_mvwadd_wchar(WINDOW *w, int y, int x, wchar_t ch, attr_t attr, short pair) {
    cchar_t cc;
    wchar_t s[2] = { ch, L'\0' };
    if (setcchar(&cc, s, attr, pair, NULL) != OK) return ERR;
    return mvwadd_wch(w, y, x, &cc);
}

/* WACS_* / ACS_* are lookups into mutable global tables (macros). */
static inline int cn_wborder(WINDOW *w) { return wborder_set(w, 0, 0, 0, 0, 0, 0, 0, 0); }
static inline int cn_mvwhline(WINDOW *w, int y, int x, int n) { return mvwhline_set(w, y, x, WACS_HLINE, n); }
static inline int cn_mvwvline(WINDOW *w, int y, int x, int n) { return mvwvline_set(w, y, x, WACS_VLINE, n); }

/* ioctl() is variadic (not importable): tty size for manual resizeterm(). */
static inline int cn_tty_size(int fd, int *rows, int *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row; *cols = ws.ws_col;
    return 0;
}

static inline int cn_tty_set_size(int fd, int rows, int cols) {
    struct winsize ws = {0};
    ws.ws_row = (unsigned short)rows; ws.ws_col = (unsigned short)cols;
    return ioctl(fd, TIOCSWINSZ, &ws);
}

/* A pseudo-terminal pair for benchmarks: the master fd, and the slave's path in `name`; -1 on failure. */
extern int posix_openpt(int flags);
extern int grantpt(int fd);
extern int unlockpt(int fd);
extern int ptsname_r(int fd, char *buf, size_t buflen);
static inline int cn_open_pty(char *name, size_t len) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0) return -1;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, name, len) != 0) { close(fd); return -1; }
    return fd;
}

#endif /* CNCURSES_SHIM_H */
