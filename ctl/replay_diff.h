/* vmfwctl replay --diff: the entry point cmd_replay hands a --diff command line to. */
#ifndef VMFW_REPLAY_DIFF_H
#define VMFW_REPLAY_DIFF_H

#include <stdbool.h>

/* Replays the captures through the policies at old_path and new_path and prints the packets whose
 * verdict changes, grouped by flow (docs/vmfwctl.8). Returns a VMFW_EXIT_* status. */
int cmd_replay_diff(int mode, const char *old_path, const char *new_path, char **pcaps, int npcaps,
		    bool json);

#endif /* VMFW_REPLAY_DIFF_H */
