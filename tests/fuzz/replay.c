/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * replay.c — runs a libFuzzer target over files without libFuzzer, so
 * "make check" replays the corpus with any compiler.
 *
 * Usage: replay FILE-OR-DIR...  (a directory means every file in it)
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Reads @path and feeds it to the target; returns 0 or -errno. */
static int
replay_file (const char *path)
{
  FILE *f;
  uint8_t *data = NULL;
  size_t len = 0, cap = 0;

  f = fopen (path, "rb");
  if (f == NULL)
    return -errno;
  for (;;)
    {
      size_t got;

      if (len == cap)
        {
          uint8_t *bigger;

          cap = cap ? cap * 2 : 4096;
          bigger = realloc (data, cap);
          if (bigger == NULL)
            {
              free (data);
              fclose (f);
              return -ENOMEM;
            }
          data = bigger;
        }
      got = fread (data + len, 1, cap - len, f);
      len += got;
      if (got == 0)
        break;
    }
  if (ferror (f))
    {
      free (data);
      fclose (f);
      return -EIO;
    }
  fclose (f);

  /* A copy of exactly @len bytes, so ASan sees any overread. */
  {
    uint8_t *exact = malloc (len ? len : 1);

    if (exact == NULL)
      {
        free (data);
        return -ENOMEM;
      }
    if (len > 0)
      memcpy (exact, data, len);
    free (data);
    LLVMFuzzerTestOneInput (exact, len);
    free (exact);
  }
  return 0;
}

/* Replays @path, a file or a directory of files; counts into *@n. */
static int
replay_path (const char *path,
             unsigned *n)
{
  struct stat st;
  DIR *dir;
  struct dirent *de;
  int r = 0;

  if (stat (path, &st) < 0)
    return -errno;
  if (!S_ISDIR (st.st_mode))
    {
      if ((r = replay_file (path)) < 0)
        return r;
      (*n)++;
      return 0;
    }

  dir = opendir (path);
  if (dir == NULL)
    return -errno;
  while ((de = readdir (dir)) != NULL)
    {
      char child[4096];

      if (de->d_name[0] == '.')
        continue;
      if ((size_t) snprintf (child, sizeof child, "%s/%s", path, de->d_name) >= sizeof child)
        {
          r = -ENAMETOOLONG;
          break;
        }
      if (stat (child, &st) < 0)
        {
          r = -errno;
          break;
        }
      if (!S_ISREG (st.st_mode))
        continue;
      if ((r = replay_file (child)) < 0)
        break;
      (*n)++;
    }
  closedir (dir);
  return r;
}

int
main (int argc, char **argv)
{
  unsigned n = 0;

  for (int i = 1; i < argc; i++)
    {
      int r = replay_path (argv[i], &n);

      if (r < 0)
        {
          fprintf (stderr, "%s: %s\n", argv[i], strerror (-r));
          return EXIT_FAILURE;
        }
    }
  printf ("replayed %u inputs\n", n);
  return EXIT_SUCCESS;
}
