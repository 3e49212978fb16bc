"""The standards loop: the scorecard (:mod:`.scorecard`), revision rules and proposals
(:mod:`.proposals`), the committee's files (:mod:`.writers`), the measured effect of a recorded
revision (:mod:`.revisions`) and the restricted staff view's figures (:mod:`.staff`)."""
