/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-nss-module.c — libnss_trellis's code (nss/nss-trellis.c, built into
 * this test with its socket in the build tree) against trellisd's real
 * server (daemon/nss-server.c) with a decision of the test's own: what
 * each answer means to glibc, the names as the server reads them, the
 * limits a hostile client meets, and that every wait is bounded.
 *
 * When trellisd does not answer, the module asks the kernel with a probe
 * to 127.255.53.53:53; here nothing holds the test's DNS, so the probe is
 * refused (or answered) at once and the lookup goes on (UNAVAIL).
 */
#include "tests/unit/test-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/nss-server.h"
#include "nss/nss-protocol.h"

enum nss_status _nss_trellis_gethostbyname4_r (const char *, struct gaih_addrtuple **, char *, size_t,
                                               int *, int *, int32_t *);
enum nss_status _nss_trellis_gethostbyname3_r (const char *, int, struct hostent *, char *, size_t,
                                               int *, int *, int32_t *, char **);
enum nss_status _nss_trellis_gethostbyname2_r (const char *, int, struct hostent *, char *, size_t,
                                               int *, int *);
enum nss_status _nss_trellis_gethostbyname_r (const char *, struct hostent *, char *, size_t,
                                              int *, int *);

static GMutex seen_lock;
static char *seen; /* the last name the decision got ("(null)" for none) */
static guint n_decided;

static TrellisNssVerdict
decide (uid_t uid, const char *qname, char *ret_rule, gsize rule_size, gpointer user_data)
{
  TrellisNssVerdict v = TRELLIS_NSS_VERDICT_ALLOW;

  g_mutex_lock (&seen_lock);
  g_free (seen);
  seen = g_strdup (qname != NULL ? qname : "(null)");
  n_decided++;
  g_mutex_unlock (&seen_lock);
  if (qname == NULL || g_str_has_suffix (qname, "blocked.example"))
    {
      g_strlcpy (ret_rule, "deny blocked.example (household.conf:9)", rule_size);
      v = TRELLIS_NSS_VERDICT_BLOCK;
    }
  else if (g_str_has_suffix (qname, "outside.example"))
    v = TRELLIS_NSS_VERDICT_OUTSIDE;
  else if (g_str_has_suffix (qname, "badsafe.example"))
    {
      g_strlcpy (ret_rule, "local host/../x", rule_size);
      v = TRELLIS_NSS_VERDICT_SAFE;
    }
  else if (g_str_has_suffix (qname, "safe.example"))
    {
      /* the safe endpoint: a name the machine's own hosts file answers */
      g_strlcpy (ret_rule, "localhost", rule_size);
      v = TRELLIS_NSS_VERDICT_SAFE;
    }
  return v;
}

static char *
seen_get (void)
{
  char *copy;

  g_mutex_lock (&seen_lock);
  copy = g_strdup (seen);
  g_mutex_unlock (&seen_lock);
  return copy;
}

static char *
socket_dir (void)
{
  return g_path_get_dirname (TRELLIS_NSS_SOCKET);
}

static int
setup (void **state)
{
  g_autofree char *dir = socket_dir ();
  GError *error = NULL;
  TrellisNssServer *server = trellis_nss_server_new (dir, decide, NULL, &error);

  if (server == NULL)
    fail_msg ("no server: %s", error->message);
  *state = server;
  return 0;
}

static int
teardown (void **state)
{
  g_autofree char *dir = socket_dir ();

  trellis_nss_server_free (*state);
  g_rmdir (dir);
  g_mutex_lock (&seen_lock);
  g_clear_pointer (&seen, g_free);
  g_mutex_unlock (&seen_lock);
  return 0;
}

/* The status of gethostbyname4_r for @name, with its errno and h_errno. */
static enum nss_status
lookup4 (const char *name, int *ret_errno, int *ret_herrno)
{
  struct gaih_addrtuple *pat = NULL;
  char buffer[1024];
  int32_t ttl = 0;

  *ret_errno = *ret_herrno = 0;
  return _nss_trellis_gethostbyname4_r (name, &pat, buffer, sizeof buffer, ret_errno, ret_herrno, &ttl);
}

static void
test_answers (void **state)
{
  struct hostent host;
  char buffer[1024];
  char *canon = NULL;
  int32_t ttl;
  int e, h;

  /* blocked: NOTFOUND, and [!UNAVAIL=return] stops there */
  assert_int_equal (lookup4 ("www.blocked.example", &e, &h), NSS_STATUS_NOTFOUND);
  assert_int_equal (h, HOST_NOT_FOUND);
  assert_int_equal (e, ENOENT);
  assert_int_equal (_nss_trellis_gethostbyname3_r ("blocked.example", AF_INET6, &host, buffer, sizeof buffer,
                                                   &e, &h, &ttl, &canon),
                    NSS_STATUS_NOTFOUND);
  assert_int_equal (_nss_trellis_gethostbyname2_r ("blocked.example", AF_INET, &host, buffer, sizeof buffer,
                                                   &e, &h),
                    NSS_STATUS_NOTFOUND);
  assert_int_equal (_nss_trellis_gethostbyname_r ("blocked.example", &host, buffer, sizeof buffer, &e, &h),
                    NSS_STATUS_NOTFOUND);
  assert_int_equal (h, HOST_NOT_FOUND);

  /* allowed, and not protected: UNAVAIL, the next source answers */
  assert_int_equal (lookup4 ("allowed.example", &e, &h), NSS_STATUS_UNAVAIL);
  assert_int_equal (e, ENOENT);
  assert_int_equal (lookup4 ("outside.example", &e, &h), NSS_STATUS_UNAVAIL);
  assert_int_equal (_nss_trellis_gethostbyname2_r ("allowed.example", AF_INET6, &host, buffer, sizeof buffer,
                                                   &e, &h),
                    NSS_STATUS_UNAVAIL);

  /* an address is no name: not asked */
  {
    guint before = n_decided;

    assert_int_equal (lookup4 ("192.0.2.1", &e, &h), NSS_STATUS_UNAVAIL);
    assert_int_equal (lookup4 ("2001:db8::1", &e, &h), NSS_STATUS_UNAVAIL);
    assert_int_equal (n_decided, before);
  }
}

/* A safe-search name: the safe endpoint's addresses, named after it. */
static void
test_safe_search (void **state)
{
  struct gaih_addrtuple *pat = NULL, mine = { 0 };
  struct hostent host;
  char buffer[2048];
  char tiny[16];
  int32_t ttl = 0;
  char *canon = NULL;
  gboolean v4 = FALSE;
  int e, h;

  assert_int_equal (_nss_trellis_gethostbyname4_r ("www.safe.example", &pat, buffer, sizeof buffer,
                                                   &e, &h, &ttl),
                    NSS_STATUS_SUCCESS);
  assert_non_null (pat);
  for (struct gaih_addrtuple *t = pat; t != NULL; t = t->next)
    {
      assert_string_equal (t->name, "localhost");
      assert_true (t->family == AF_INET || t->family == AF_INET6);
      if (t->family == AF_INET && t->addr[0] == htonl (INADDR_LOOPBACK))
        v4 = TRUE;
    }
  assert_true (v4);
  assert_int_equal (ttl, 300);

  /* a tuple of the caller's own gets the first record */
  pat = &mine;
  assert_int_equal (_nss_trellis_gethostbyname4_r ("www.safe.example", &pat, buffer, sizeof buffer,
                                                   &e, &h, &ttl),
                    NSS_STATUS_SUCCESS);
  assert_ptr_equal (pat, &mine);
  assert_string_equal (mine.name, "localhost");

  /* too small a buffer: ERANGE, and glibc asks again */
  pat = NULL;
  assert_int_equal (_nss_trellis_gethostbyname4_r ("www.safe.example", &pat, tiny, sizeof tiny,
                                                   &e, &h, &ttl),
                    NSS_STATUS_TRYAGAIN);
  assert_int_equal (e, ERANGE);
  assert_int_equal (_nss_trellis_gethostbyname3_r ("www.safe.example", AF_INET, &host, tiny, sizeof tiny,
                                                   &e, &h, &ttl, &canon),
                    NSS_STATUS_TRYAGAIN);
  assert_int_equal (e, ERANGE);

  assert_int_equal (_nss_trellis_gethostbyname3_r ("www.safe.example", AF_INET, &host, buffer, sizeof buffer,
                                                   &e, &h, &ttl, &canon),
                    NSS_STATUS_SUCCESS);
  assert_string_equal (host.h_name, "localhost");
  assert_ptr_equal (canon, host.h_name);
  assert_int_equal (host.h_addrtype, AF_INET);
  assert_int_equal (host.h_length, 4);
  assert_null (host.h_aliases[0]);
  assert_non_null (host.h_addr_list[0]);
  assert_memory_equal (host.h_addr_list[0], "\x7f\0\0\x01", 4);
  assert_int_equal (_nss_trellis_gethostbyname_r ("safe.example", &host, buffer, sizeof buffer, &e, &h),
                    NSS_STATUS_SUCCESS);
  assert_string_equal (host.h_name, "localhost");

  /* an endpoint that is no host name is not followed: blocked */
  assert_int_equal (lookup4 ("www.badsafe.example", &e, &h), NSS_STATUS_NOTFOUND);
}

/* Every spelling of a name reaches the decision as its query would. */
static void
test_names_read (void **state)
{
  const struct {
    const char *given;
    const char *decided;
  } cases[] = {
    { "ExAmPle-GaMe.COM.", "example-game.com" },
    { "ex\\097mple-game.com", "example-game.com" },
    { "\\069XAMPLE-game.com", "example-game.com" },
    { "sub\\000.blocked.example", "sub\\000.blocked.example" },
    { "sub\\.dot.blocked.example", "sub\\046dot.blocked.example" },
    { "a\\ b.example", "a\\032b.example" },
    { "caf\xc3\xa9.example", "caf\\195\\169.example" },
    { "a..b.example", "(null)" },
    { ".example", "(null)" },
    { "trailing\\", "(null)" },
    { "bad\\25.example", "(null)" },
    { "bad\\256.example", "(null)" },
    { "a.b.example..", "(null)" },
  };
  g_autofree char *label64 = g_strnfill (64, 'a');
  g_autofree char *too_long = g_strconcat (label64, ".example", NULL);
  g_autofree char *label63 = g_strnfill (63, 'a');
  /* 4 × 64 + 1 = 257 octets on the wire: too long */
  g_autofree char *name257 = g_strjoin (".", label63, label63, label63, label63, NULL);
  int e, h;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = NULL;

      lookup4 (cases[i].given, &e, &h);
      got = seen_get ();
      if (g_strcmp0 (got, cases[i].decided) != 0)
        fail_msg ("“%s” was decided as “%s”, want “%s”", cases[i].given, got, cases[i].decided);
    }
  /* a name that is no name is blocked for a protected account */
  assert_int_equal (lookup4 ("a..b.example", &e, &h), NSS_STATUS_NOTFOUND);
  assert_int_equal (lookup4 (too_long, &e, &h), NSS_STATUS_NOTFOUND);
  assert_int_equal (lookup4 (name257, &e, &h), NSS_STATUS_NOTFOUND);
  {
    g_autofree char *got = seen_get ();

    assert_string_equal (got, "(null)");
  }
  {
    char qname[1024];

    assert_false (trellis_nss_name_read ("", qname));
    assert_false (trellis_nss_name_read (".", qname));
    assert_true (trellis_nss_name_read ("x", qname));
    assert_string_equal (qname, "x");
  }
}

static int
connect_raw (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct timeval tv = { .tv_sec = 5 };

  assert_true (fd >= 0);
  g_strlcpy (sa.sun_path, TRELLIS_NSS_SOCKET, sizeof sa.sun_path);
  assert_int_equal (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* Sends @len bytes of @msg and returns the reply ("" when the server
 * closed the connection without one); transfer full. */
static char *
exchange (int fd, const char *msg, gsize len)
{
  char reply[TRELLIS_NSS_REPLY_MAX + 1];
  ssize_t n;

  assert_int_equal (send (fd, msg, len, MSG_NOSIGNAL), (ssize_t) len);
  n = recv (fd, reply, sizeof reply - 1, 0);
  assert_true (n >= 0);
  reply[n] = '\0';
  return g_strdup (reply);
}

static void
test_hostile_requests (void **state)
{
  g_autofree char *huge = g_strnfill (TRELLIS_NSS_REQUEST_MAX + 500, 'Q');
  const char nul[] = "Qbad\0name.example";
  int fd;
  char c;

  /* too long: refused, saying why, and closed */
  fd = connect_raw ();
  {
    g_autofree char *r = exchange (fd, huge, strlen (huge));

    assert_string_equal (r, "Erequest too long");
  }
  assert_int_equal (recv (fd, &c, 1, 0), 0);
  close (fd);

  /* the longest request there is still has an answer */
  fd = connect_raw ();
  {
    g_autofree char *r = exchange (fd, huge, TRELLIS_NSS_REQUEST_MAX);

    assert_int_equal (r[0], TRELLIS_NSS_BLOCKED); /* no DNS name: blocked */
  }
  close (fd);

  /* an unknown kind, a bare 'Q', a NUL in the name */
  fd = connect_raw ();
  {
    g_autofree char *r = exchange (fd, "Xexample.com", 12);

    assert_string_equal (r, "Eunknown request");
  }
  close (fd);
  fd = connect_raw ();
  {
    g_autofree char *r = exchange (fd, "Q", 1);

    assert_string_equal (r, "Eno name");
  }
  close (fd);
  fd = connect_raw ();
  {
    g_autofree char *r = exchange (fd, nul, sizeof nul - 1);

    assert_string_equal (r, "Ea NUL byte in the name");
  }
  close (fd);

  /* several requests on one connection, each answered */
  fd = connect_raw ();
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *r = exchange (fd, "Qallowed.example", 16);
      g_autofree char *b = exchange (fd, "Qblocked.example", 16);

      assert_string_equal (r, "A");
      assert_string_equal (b, "Bdeny blocked.example (household.conf:9)");
    }
  close (fd);

  /* the server is still there for everyone */
  {
    int e, h;

    assert_int_equal (lookup4 ("blocked.example", &e, &h), NSS_STATUS_NOTFOUND);
  }
}

static void
test_limits (void **state)
{
  int held[TRELLIS_NSS_SERVER_PER_UID];
  gint64 start;
  int fd, e, h;
  char c;

  /* One uid's connections: the first ones are kept... */
  for (int i = 0; i < TRELLIS_NSS_SERVER_PER_UID; i++)
    held[i] = connect_raw ();
  {
    g_autofree char *r = exchange (held[0], "Qblocked.example", 16);

    assert_int_equal (r[0], TRELLIS_NSS_BLOCKED);
  }
  /* ...and one more is closed unanswered: the module then asks the
   * kernel, which here holds nothing, and the lookup goes on */
  fd = connect_raw ();
  assert_int_equal (recv (fd, &c, 1, 0), 0);
  close (fd);
  start = g_get_monotonic_time ();
  assert_int_equal (lookup4 ("blocked.example", &e, &h), NSS_STATUS_UNAVAIL);
  assert_true (g_get_monotonic_time () - start < (TRELLIS_NSS_TIMEOUT_MS + TRELLIS_NSS_PROBE_MS + 500) * 1000);

  /* A connection that says nothing is closed after TRELLIS_NSS_IDLE_MS,
   * and its slot is free again. */
  start = g_get_monotonic_time ();
  assert_int_equal (recv (held[1], &c, 1, 0), 0);
  assert_true (g_get_monotonic_time () - start >= (TRELLIS_NSS_IDLE_MS - 300) * 1000);
  assert_true (g_get_monotonic_time () - start < (TRELLIS_NSS_IDLE_MS + 1500) * 1000);
  for (int i = 0; i < TRELLIS_NSS_SERVER_PER_UID; i++)
    close (held[i]);
  assert_int_equal (lookup4 ("blocked.example", &e, &h), NSS_STATUS_NOTFOUND);
}

/* No server, or one that never answers: bounded, and on (UNAVAIL). */
static void
test_unreachable (void **state)
{
  TrellisNssServer *server = *state;
  g_autofree char *dir = socket_dir ();
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  gint64 start;
  int fd, e, h;

  trellis_nss_server_free (server);
  start = g_get_monotonic_time ();
  assert_int_equal (lookup4 ("blocked.example", &e, &h), NSS_STATUS_UNAVAIL);
  assert_true (g_get_monotonic_time () - start < (TRELLIS_NSS_PROBE_MS + 500) * 1000);

  /* a listener that takes the connection and never says a word */
  fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  g_strlcpy (sa.sun_path, TRELLIS_NSS_SOCKET, sizeof sa.sun_path);
  assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  assert_int_equal (listen (fd, 4), 0);
  start = g_get_monotonic_time ();
  assert_int_equal (lookup4 ("blocked.example", &e, &h), NSS_STATUS_UNAVAIL);
  assert_true (g_get_monotonic_time () - start >= (TRELLIS_NSS_TIMEOUT_MS - 100) * 1000);
  assert_true (g_get_monotonic_time () - start < (TRELLIS_NSS_TIMEOUT_MS + TRELLIS_NSS_PROBE_MS + 500) * 1000);
  close (fd);
  unlink (TRELLIS_NSS_SOCKET);

  /* the next trellisd replaces a socket a dead one left */
  fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  close (fd);
  *state = trellis_nss_server_new (dir, decide, NULL, NULL);
  assert_non_null (*state);
  assert_int_equal (lookup4 ("blocked.example", &e, &h), NSS_STATUS_NOTFOUND);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_answers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_names_read, setup, teardown),
    cmocka_unit_test_setup_teardown (test_safe_search, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hostile_requests, setup, teardown),
    cmocka_unit_test_setup_teardown (test_limits, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unreachable, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
