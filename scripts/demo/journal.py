#!/usr/bin/env python3
"""Prints the simulator's journal of calls for one task: scripts/demo/journal.py SIM_URL TASK_ID"""
import json
import sys
import urllib.request

sim, task = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(f"{sim}/_sim/journal") as response:
    for entry in json.load(response):
        if task in entry["path"]:
            print(f"  {entry['at']}  {entry['method']:4} {entry['endpoint']:7} {entry['path']}  -> {entry['code']}")
