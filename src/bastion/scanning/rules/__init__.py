"""Rules: facts from code (:mod:`.pyfacts`), archive shape (:mod:`.archive`) and how the
scanner weighs them together (:mod:`.combine`)."""
