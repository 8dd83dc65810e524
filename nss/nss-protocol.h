/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss-protocol.h — what libnss_trellis and trellisd say to each other over
 * trellisd's local socket (docs/decisions.md, "Lookups that never reach
 * port 53").  Plain C, no GLib: the module is loaded into every program
 * that looks up a host name.
 *
 * The socket is a SOCK_SEQPACKET Unix socket, TRELLIS_NSS_SOCKET; the
 * caller is whoever connected (SO_PEERCRED), never what a message says.
 * One message a request, one a reply:
 *
 *   request  'Q' NAME     NAME as the program gave it (presentation form,
 *                         \DDD and \X escapes allowed), 1 to
 *                         TRELLIS_NSS_NAME_MAX bytes, no NUL
 *   reply    'B' RULE     blocked for the caller: the rule in a few words
 *            'S' TARGET   a search engine's name, for the caller its safe
 *                         endpoint TARGET (forcesafesearch.google.com): the
 *                         module answers with TARGET's addresses
 *            'A'          allowed for the caller: ask the next source
 *            'O'          the caller is not protected: ask the next source
 *            'E' TEXT     the request was refused (bad form), and why
 *
 * trellisd closes a connection that sends nothing for
 * TRELLIS_NSS_IDLE_MS, and takes at most a few connections of one uid at a
 * time; the module gives up after TRELLIS_NSS_TIMEOUT_MS.
 */
#pragma once

#ifndef TRELLIS_NSS_SOCKET
#ifdef TRELLIS_RUNDIR
#define TRELLIS_NSS_SOCKET TRELLIS_RUNDIR "/nss.socket"
#else
#define TRELLIS_NSS_SOCKET "/run/trellis/nss.socket"
#endif
#endif
#define TRELLIS_NSS_SOCKET_NAME "nss.socket"

/* The longest name: 255 octets, each as \DDD, and the dots. */
#define TRELLIS_NSS_NAME_MAX    1024
#define TRELLIS_NSS_REQUEST_MAX (1 + TRELLIS_NSS_NAME_MAX)
#define TRELLIS_NSS_REPLY_MAX   512

#define TRELLIS_NSS_REQUEST 'Q'
#define TRELLIS_NSS_BLOCKED 'B'
#define TRELLIS_NSS_SAFE    'S'
#define TRELLIS_NSS_ALLOWED 'A'
#define TRELLIS_NSS_OUTSIDE 'O'
#define TRELLIS_NSS_REFUSED 'E'

#define TRELLIS_NSS_TIMEOUT_MS 1500
#define TRELLIS_NSS_IDLE_MS    2000

/* Where the module sends its probe when trellisd does not answer: a
 * loopback address no one serves, port 53 (see nss-trellis.c). */
#ifndef TRELLIS_NSS_PROBE_ADDR
#define TRELLIS_NSS_PROBE_ADDR "127.255.53.53"
#endif
#define TRELLIS_NSS_PROBE_MS 200
