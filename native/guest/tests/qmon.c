/*
 * qmon SOCKET COMMAND: sends one command to a QEMU human monitor listening
 * on a unix socket and prints its reply (up to the next "(qemu) " prompt).
 * Lets the boot test read guest memory (pmemsave) without python or socat.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads until the monitor prompt; the reply is what came before it. */
static int read_to_prompt(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "(qemu) "))
            return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: qmon SOCKET COMMAND\n");
        return 2;
    }
    alarm(10); /* a monitor that never answers must not hang the test */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (fd < 0 || strlen(argv[1]) >= sizeof sa.sun_path) {
        perror("qmon: socket");
        return 1;
    }
    strcpy(sa.sun_path, argv[1]);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("qmon: connect");
        return 1;
    }
    static char buf[65536];
    if (read_to_prompt(fd, buf, sizeof buf)) { /* the greeting */
        fprintf(stderr, "qmon: no monitor prompt\n");
        return 1;
    }
    if (dprintf(fd, "%s\n", argv[2]) < 0) {
        perror("qmon: write");
        return 1;
    }
    if (read_to_prompt(fd, buf, sizeof buf)) {
        fprintf(stderr, "qmon: no reply to '%s'\n", argv[2]);
        return 1;
    }
    fputs(buf, stdout);
    close(fd);
    return 0;
}
