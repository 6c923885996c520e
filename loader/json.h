/* A small JSON writer, in the spirit of bpftool's json_writer: the writer tracks the commas and
 * escapes every string, so no caller prints JSON punctuation by hand. Compact output (no spaces);
 * a document that ends at the top level gets a newline, so each document is one line. */
#ifndef VMFW_JSON_H
#define VMFW_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Deeper documents than this are a bug in the caller; vmfw's are at most 6 deep. */
#define VMFW_JSON_MAX_DEPTH 32

struct vmfw_json {
	FILE *f;
	unsigned depth;
	uint32_t has_member;    /* bit d: the container at depth d already holds a value */
	bool after_name;        /* a name was written: its value comes without a comma */
};

void vmfw_json_init(struct vmfw_json *j, FILE *f);

void vmfw_json_object(struct vmfw_json *j);
void vmfw_json_object_end(struct vmfw_json *j);
void vmfw_json_array(struct vmfw_json *j);
void vmfw_json_array_end(struct vmfw_json *j);

/* The name of the next member of an object; its value follows with any of the calls below. */
void vmfw_json_name(struct vmfw_json *j, const char *name);

/* A string, escaped; NULL writes null. Bytes that are not UTF-8 become U+FFFD, so a file name
 * or a policy line in another encoding still gives valid JSON. */
void vmfw_json_string(struct vmfw_json *j, const char *s);
void vmfw_json_uint(struct vmfw_json *j, unsigned long long v);
void vmfw_json_int(struct vmfw_json *j, long long v);
void vmfw_json_bool(struct vmfw_json *j, bool v);
void vmfw_json_null(struct vmfw_json *j);
/* A number with a fixed count of decimals ("%.*f"); null when it is not finite. */
void vmfw_json_fixed(struct vmfw_json *j, double v, int decimals);

/* A member in one call: name and value. */
void vmfw_json_string_field(struct vmfw_json *j, const char *name, const char *s);
void vmfw_json_uint_field(struct vmfw_json *j, const char *name, unsigned long long v);
void vmfw_json_int_field(struct vmfw_json *j, const char *name, long long v);
void vmfw_json_bool_field(struct vmfw_json *j, const char *name, bool v);
void vmfw_json_null_field(struct vmfw_json *j, const char *name);
void vmfw_json_fixed_field(struct vmfw_json *j, const char *name, double v, int decimals);

#endif /* VMFW_JSON_H */
