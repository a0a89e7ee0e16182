package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** A long-running host drops the oldest finished sessions and keeps every live one, however old. */
class RetiredSessionsTest {

    @Test
    void allButTheNewestFinishedSessionsAreRetiredAndLiveOnesNever() {
        Map<Long, String> sessions = new TreeMap<>();
        for (long h = 1; h <= 40; h++) {
            sessions.put(h, h == 2 || h == 39 ? "live" : "done");
        }
        List<Long> retired = Migrations.toRetire(sessions, "done"::equals, 32);
        // 38 finished, keep the newest 32: handles 1, 3, 4, 5, 6, 7 go; live 2 stays although it is older
        assertEquals(List.of(1L, 3L, 4L, 5L, 6L, 7L), retired);
    }

    @Test
    void nothingIsRetiredWhileTheFinishedOnesFitTheBound() {
        Map<Long, String> sessions = new TreeMap<>();
        for (long h = 1; h <= 32; h++) {
            sessions.put(h, "done");
        }
        sessions.put(33L, "live");
        assertEquals(List.of(), Migrations.toRetire(sessions, "done"::equals, 32));
    }
}
