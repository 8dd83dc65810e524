#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# pi-image-chroot-qemu: image/build-pi-image builds the Raspberry Pi
# gateway's disk image (Debian 12 arm64, the Trellis .deb cross-built for
# arm64) and, under qemu-user, runs trellisd --version and trellis policy
# check on the school's example.  Then: the image's partition table, boot
# partition and root read back (sfdisk, mtools, debugfs, e2fsck); and in
# the arm64 root under qemu, the first-boot step takes a good household
# file from the boot partition, refuses a bad one (the errors left beside
# it, the example in force), and no account has a password.
# TRELLIS_PI_IMAGE_STAGE=chroot checks the root only.
#
# The roots and the .deb are cached (TRELLIS_CI_CACHE, default
# /var/cache/trellis-ci/pi-image): the first run takes about half an hour
# (the kernel's initramfs made under emulation), later ones a minute or
# two (docs/gateway.md, "Figures").
set -eu

top_srcdir=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${TRELLIS_TOP_BUILDDIR:-$top_srcdir}
export LC_ALL=C.UTF-8

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (debootstrap, chroot)"; exit 77; }
if [ -n "${TRELLIS_FRESH_CONTAINER:-}" ]; then
  echo "SKIP: inside .ci/fresh-container: no archive to make the arm64 roots from, no binfmt_misc to register qemu in (CI on the machine runs this test)"
  exit 77
fi

# The whole disk image when it fits CI's time (it does: docs/gateway.md);
# TRELLIS_PI_IMAGE_STAGE=chroot stops at the root.
stage=${TRELLIS_PI_IMAGE_STAGE:-image}
out=$(mktemp -d "$top_builddir/pi-image-test.XXXXXX")
root=$out/root
mounted=
binfmt_mounted=
binfmt_registered=
cleanup ()
{
  [ -z "$mounted" ] || umount -l "$root/proc" 2>/dev/null || true
  rm -rf "$out"
  if [ -n "$binfmt_registered" ] && [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64 || true
  fi
  [ -z "$binfmt_mounted" ] || umount /proc/sys/fs/binfmt_misc 2>/dev/null || true
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; exit 1; }

start=$SECONDS
rc=0
"$top_srcdir/image/build-pi-image" --stage "$stage" --out "$out" --keep-root \
  --household "$top_srcdir/data/school-household.conf" || rc=$?
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || fail "build-pi-image --stage $stage: exit status $rc"
echo "pi-image-chroot-qemu: build-pi-image --stage $stage took $((SECONDS - start)) s"

grep -q '^trellisd ' "$out/trellisd-version.txt" || fail "trellisd --version under qemu printed: $(cat "$out/trellisd-version.txt")"
grep -q 'school-household.conf: no errors' "$out/policy-check.txt" || fail "policy check under qemu: $(cat "$out/policy-check.txt")"
grep -q 'Gateway: devices on eth1 are filtered' "$out/policy-check.txt" || fail "policy check does not show the gateway"

[ -d "$root/usr" ] || fail "build-pi-image --keep-root left no root in $root"
cmp -s "$root/etc/trellis/household.conf" "$top_srcdir/data/school-household.conf" ||
  fail "--household is not the image's household file"

if [ "$stage" = image ]; then
  img=$out/trellis-pi.img
  [ -f "$img" ] || fail "no $img"
  # The partition table: MBR, FAT32 boot from 4 MiB (256 MiB, bootable),
  # ext4 root after it to the end.
  sfdisk -d "$img" > "$out/sfdisk.txt" || fail "sfdisk -d cannot read the image"
  grep -q '^label: dos$' "$out/sfdisk.txt" || fail "not an MBR: $(cat "$out/sfdisk.txt")"
  grep -Eq 'img1 : start= *8192, size= *524288, type=c, bootable$' "$out/sfdisk.txt" ||
    fail "the boot partition is not FAT32 at 4 MiB, 256 MiB, bootable: $(cat "$out/sfdisk.txt")"
  grep -Eq 'img2 : start= *532480, size= *[0-9]+, type=83$' "$out/sfdisk.txt" ||
    fail "the root partition is not Linux after the boot one: $(cat "$out/sfdisk.txt")"
  [ "$(grep -c 'img[0-9] :' "$out/sfdisk.txt")" = 2 ] || fail "not two partitions"
  # The boot partition (mtools, at its offset): the Pi's firmware, the
  # kernel and initrd, the device trees, the command line for this root,
  # and the note for the school.
  export MTOOLS_SKIP_CHECK=1
  mdir -b -i "$img@@4M" :: > "$out/boot-files.txt" 2>&1 || fail "mdir: $(cat "$out/boot-files.txt")"
  for f in config.txt cmdline.txt start4.elf fixup4.dat bcm2711-rpi-4-b.dtb trellis-household.conf.README; do
    grep -q "/$f\$" "$out/boot-files.txt" || fail "the boot partition has no $f: $(tr '\n' ' ' < "$out/boot-files.txt")"
  done
  grep -Eq '/vmlinuz-[0-9.]+-[0-9]+-arm64$' "$out/boot-files.txt" || fail "no kernel on the boot partition"
  grep -Eq '/initrd.img-[0-9.]+-[0-9]+-arm64$' "$out/boot-files.txt" || fail "no initrd on the boot partition"
  mtype -i "$img@@4M" ::cmdline.txt | grep -q 'root=LABEL=trellis-root' || fail "cmdline.txt does not boot the image's root"
  mlabel -s -i "$img@@4M" :: | grep -q TRELLISBOOT || fail "the boot partition is not labelled TRELLISBOOT"
  # The root (debugfs, at its offset).
  rootfs="$img?offset=$((532480 * 512))"
  debugfs -R 'stat /usr/sbin/trellisd' "$rootfs" > "$out/debugfs.txt" 2>&1 && grep -q 'Type: regular' "$out/debugfs.txt" ||
    fail "no /usr/sbin/trellisd in the image's root: $(head -5 "$out/debugfs.txt")"
  debugfs -R 'cat /etc/fstab' "$rootfs" 2>/dev/null | grep -q '^LABEL=TRELLISBOOT /boot/firmware vfat' ||
    fail "the image's fstab does not mount the boot partition"
  debugfs -R 'cat /etc/shadow' "$rootfs" 2>/dev/null > "$out/shadow.txt"
  [ -s "$out/shadow.txt" ] || fail "no /etc/shadow in the image"
  awk -F: '$2 !~ /^[!*]/ { bad = 1 } END { exit bad }' "$out/shadow.txt" || fail "the image has an account with a password"
  debugfs -R 'ls -l /etc/systemd/system/multi-user.target.wants' "$rootfs" 2>/dev/null |
    grep -q 'trellis-first-boot.service' || fail "first boot is not enabled in the image"
  e2fsck -fn "$rootfs" > "$out/e2fsck.txt" 2>&1 || fail "the root file system does not check: $(tail -5 "$out/e2fsck.txt")"
  echo "pi-image-chroot-qemu: $(du -m --apparent-size "$img" | cut -f1) MiB image ($(du -m "$img" | cut -f1) MiB on disk): partition table, boot files and root checked"
fi
for f in etc/dnsmasq.d/trellis-gateway.conf etc/network/interfaces etc/sysctl.d/60-trellis-gateway.conf \
         lib/systemd/system/trellis-first-boot.service usr/lib/trellis/trellis-first-boot \
         etc/systemd/system/multi-user.target.wants/trellis-first-boot.service \
         etc/systemd/system/multi-user.target.wants/trellisd.service usr/sbin/trellisd; do
  [ -e "$root/$f" ] || [ -L "$root/$f" ] || fail "the root has no $f"
done
ls "$root"/etc/ssh/ssh_host_* >/dev/null 2>&1 && fail "the image carries SSH host keys"
# No default password: every password field locked ("!..." or "*").
if awk -F: '$2 !~ /^[!*]/ { print $1; bad = 1 } END { exit bad }' "$root/etc/shadow"; then :; else
  fail "accounts with a usable password: $(awk -F: '$2 !~ /^[!*]/ { print $1 }' "$root/etc/shadow" | tr '\n' ' ')"
fi
grep -q '^PasswordAuthentication no' "$root/etc/ssh/sshd_config.d/trellis-gateway.conf" || fail "SSH takes passwords"

# First boot, under qemu: build-pi-image has left the host as it found
# it, so arm64 programs run again through binfmt_misc for these checks,
# and the host is left as it was once more (cleanup).
if ! [ -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || fail "cannot mount binfmt_misc"
  binfmt_mounted=1
fi
if ! [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 || fail "cannot register qemu-aarch64"
  binfmt_registered=1
fi

# A bad household file is refused and explained.
mount --bind /proc "$root/proc"; mounted=1
mkdir -p "$root/boot/firmware"
printf '[household]\nparents = root\ngateway-interfaces = eth1\n[group x]\nage = 25\ndevices = 10.42.5.0/24\n' \
  > "$root/boot/firmware/trellis-household.conf"
chroot "$root" /usr/lib/trellis/trellis-first-boot > "$out/first-boot-1.txt" 2>&1 || fail "first boot failed: $(cat "$out/first-boot-1.txt")"
grep -q 'Trellis does not filter adults' "$root/boot/firmware/trellis-household.errors" ||
  fail "no trellis-household.errors for a bad file: $(cat "$out/first-boot-1.txt")"
cmp -s "$root/etc/trellis/household.conf" "$root/usr/share/trellis/school-household.conf" ||
  fail "with a bad file, the example is not in force"
[ -e "$root/var/lib/trellis/first-boot-done" ] || fail "first boot did not mark itself done"

# A good one is taken, 0640.
cat > "$root/boot/firmware/trellis-household.conf" <<'CONF'
[household]
parents = root
gateway-interfaces = eth1
default-profile = everyone
[group everyone]
age = 10
devices = 10.42.0.0/16
CONF
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdmintestkeyadmintestkeyadmintestkey admin@school' \
  > "$root/boot/firmware/trellis-admin.pub"
chroot "$root" /usr/lib/trellis/trellis-first-boot > "$out/first-boot-2.txt" 2>&1 || fail "first boot failed: $(cat "$out/first-boot-2.txt")"
cmp -s "$root/etc/trellis/household.conf" "$root/boot/firmware/trellis-household.conf" ||
  fail "the school's good file is not in force: $(cat "$out/first-boot-2.txt")"
[ "$(stat -c %a "$root/etc/trellis/household.conf")" = 640 ] || fail "household.conf is not 0640"
owner=$(chroot "$root" stat -c %U:%G /etc/trellis/household.conf)
[ "$owner" = _trellis:trellis-parents ] || fail "household.conf is $owner's, not _trellis:trellis-parents's"
[ ! -e "$root/boot/firmware/trellis-household.errors" ] || fail "the errors of the old file stayed"
grep -q 'admin@school' "$root/root/.ssh/authorized_keys" || fail "the admin key is not root's"
ls "$root"/etc/ssh/ssh_host_ed25519_key >/dev/null 2>&1 || fail "no SSH host key made on first boot"

echo "pi-image-chroot-qemu: arm64 root checked under qemu in $((SECONDS - start)) s"
