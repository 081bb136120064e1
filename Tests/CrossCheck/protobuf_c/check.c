/*
 * check: the protobuf-c side of the cross-checks. Reads one request a line on stdin and answers
 * one line on stdout:
 *
 *   <full.message.Name> <base64>  ->  OK <base64 of protobuf_c_message_pack(unpack(input))> | ERR <reason>
 *   types                         ->  every full message name it knows, one a line, then END
 *
 * The message table comes from a registry file generated at test time (crosscheck_registry.c),
 * listing the descriptors of every protoc-c output; lookups go by the descriptor's `name`, the
 * full proto name.
 */
#define _POSIX_C_SOURCE 200809L

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const ProtobufCMessageDescriptor *const crosscheck_descriptors[];
extern const size_t crosscheck_descriptor_count;

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(int c) {
    const char *p = (c == 0) ? NULL : strchr(b64_alphabet, c);
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Standard base64 with padding; returns the decoded length or -1. */
static long b64_decode(const char *in, size_t len, uint8_t *out) {
    if (len % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0 || (v[k] = b64_value((unsigned char)in[i + k])) < 0) {
                return -1;
            }
        }
        uint32_t triple = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(triple >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(triple >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)triple;
    }
    return (long)o;
}

static void b64_write(const uint8_t *in, size_t len, FILE *out) {
    for (size_t i = 0; i < len; i += 3) {
        uint32_t triple = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            triple |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            triple |= in[i + 2];
        char quad[4] = {
            b64_alphabet[(triple >> 18) & 63],
            b64_alphabet[(triple >> 12) & 63],
            i + 1 < len ? b64_alphabet[(triple >> 6) & 63] : '=',
            i + 2 < len ? b64_alphabet[triple & 63] : '=',
        };
        fwrite(quad, 1, 4, out);
    }
}

static const ProtobufCMessageDescriptor *find(const char *name) {
    for (size_t i = 0; i < crosscheck_descriptor_count; i++)
        if (strcmp(crosscheck_descriptors[i]->name, name) == 0)
            return crosscheck_descriptors[i];
    return NULL;
}

static void answer(char *line, size_t len) {
    if (strcmp(line, "types") == 0) {
        for (size_t i = 0; i < crosscheck_descriptor_count; i++)
            printf("%s\n", crosscheck_descriptors[i]->name);
        printf("END\n");
        return;
    }
    char *space = memchr(line, ' ', len);
    if (space == NULL) {
        printf("ERR expected: <type> <base64>\n");
        return;
    }
    *space = '\0';
    const ProtobufCMessageDescriptor *desc = find(line);
    if (desc == NULL) {
        printf("ERR unknown type %s\n", line);
        return;
    }
    const char *b64 = space + 1;
    size_t b64_len = len - (size_t)(b64 - line);
    uint8_t *input = malloc(b64_len / 4 * 3 + 1);
    long input_len = b64_decode(b64, b64_len, input);
    if (input_len < 0) {
        free(input);
        printf("ERR bad base64\n");
        return;
    }
    ProtobufCMessage *message = protobuf_c_message_unpack(desc, NULL, (size_t)input_len, input);
    free(input);
    if (message == NULL) {
        printf("ERR unpack failed\n");
        return;
    }
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *output = malloc(size + 1);
    size_t written = protobuf_c_message_pack(message, output);
    protobuf_c_message_free_unpacked(message, NULL);
    if (written != size) {
        free(output);
        printf("ERR packed %zu bytes, get_packed_size said %zu\n", written, size);
        return;
    }
    fputs("OK ", stdout);
    b64_write(output, written, stdout);
    fputc('\n', stdout);
    free(output);
}

int main(void) {
    char *line = NULL;
    size_t capacity = 0;
    ssize_t len;
    while ((len = getline(&line, &capacity, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        answer(line, (size_t)len);
        fflush(stdout);
    }
    free(line);
    return 0;
}
