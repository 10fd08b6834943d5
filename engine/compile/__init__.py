"""From packs to a program: the facts rules read, the expression language, the rule compiler."""
