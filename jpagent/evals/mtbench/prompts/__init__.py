"""Package data: jpagent's Japanese multi-turn judge prompts (``judge_ja_multi_turn.jsonl``, in
FastChat's judge prompt schema) and the follow-up that asks a judge for its score
(``score_retry_ja.txt``)."""
