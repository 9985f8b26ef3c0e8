/* Asks the jitgate core one question through its C ABI.
 *
 *   cc -I include examples/c/decide.c -L target/release -ljitgate -o decide
 *   JITGATE_CONFIG="$(printf 'jitgate.service.url=http://127.0.0.1:8470\n')" \
 *     LD_LIBRARY_PATH=target/release ./decide alice hdfs:/lake/sales/orders read
 *
 * Exit status: 0 allowed or not protected, 1 denied, 2 usage or start-up error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitgate.h"

static uint32_t parse_actions(const char *list) {
    uint32_t bits = 0;
    char copy[128];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *a = strtok(copy, ","); a; a = strtok(NULL, ",")) {
        if (!strcmp(a, "read")) bits |= JITGATE_READ;
        else if (!strcmp(a, "write")) bits |= JITGATE_WRITE;
        else if (!strcmp(a, "export")) bits |= JITGATE_EXPORT;
        else if (!strcmp(a, "transform")) bits |= JITGATE_TRANSFORM;
        else return 0;
    }
    return bits;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s USER RESOURCE ACTION[,ACTION]\n", argv[0]);
        return 2;
    }
    uint32_t actions = parse_actions(argv[3]);
    if (!actions) {
        fprintf(stderr, "unknown action in '%s': use read, write, export, transform\n", argv[3]);
        return 2;
    }
    const char *config = getenv("JITGATE_CONFIG");
    uint64_t engine = jitgate_open(config ? config : "");
    if (!engine) {
        char err[512];
        jitgate_last_error(err, sizeof err);
        fprintf(stderr, "jitgate_open failed: %s\n", err);
        return 2;
    }
    /* jitgate_open waited for the service's first answer (jitgate.start.wait.millis); without
     * it, or a verified cached snapshot, every hdfs: and hive: resource is denied. */
    int code = jitgate_decide(engine, argv[1], argv[2], actions, "example", NULL);
    int status = 0;
    if (code == JITGATE_ALLOW) {
        printf("allow\n");
    } else if (code == JITGATE_NOT_PROTECTED) {
        printf("not protected\n");
    } else {
        char msg[1024];
        jitgate_explain(engine, argv[1], argv[2], actions, code, msg, sizeof msg);
        printf("%s\n", msg);
        status = 1;
    }
    jitgate_close(engine);
    /* A closed handle is refused, never a crash. */
    if (jitgate_decide(engine, argv[1], argv[2], actions, NULL, NULL) != JITGATE_DENY_CLOSED) {
        fprintf(stderr, "a closed handle was not refused\n");
        return 2;
    }
    return status;
}
