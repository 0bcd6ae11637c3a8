"""The sandbox's sample partnership: the people of one escalation, the CSCP team's channel, and who works where.

The school and the partnership work in Slack; MASH works in Microsoft Teams (the app installed for each of
them). A case raised in Slack names MASH's social worker by his work e-mail, and reaches him in Teams.
"""

from bot.standin.server import StandinUser
from bot.standin.teams import TeamsUser

CSCP_CHANNEL = "C0CSCPTEAM"
CSCP_CHANNEL_NAME = "cscp-escalations"

# In Slack.
PEOPLE = [
    StandinUser(
        "U01SCHOOLDSL", "Priya Shah", "priya.shah@school.example", "Designated safeguarding lead, primary school"
    ),
    StandinUser("U03HEAD", "Grace Okafor", "grace.okafor@school.example", "Headteacher (the DSL's line manager)"),
    StandinUser("U05SERVICE", "Maria Costa", "maria.costa@croydon.example", "Service manager, Children's Social Care"),
    StandinUser("U06CSCP", "Sam Patel", "sam.patel@cscp.example", "CSCP business unit"),
    StandinUser("U08EXEC", "Ruth Evans", "ruth.evans@cscp.example", "Chair, CSCP Executive Group"),
]
CSCP_MEMBERS = ["U06CSCP"]
# Who holds Stage 5, as the deployment sets it up.
CSCP_EXECUTIVE = ["U08EXEC"]

# In Microsoft Teams: known by their Entra ID object ids.
TEAMS_PEOPLE = [
    TeamsUser("4f1c2b8e-0a6d-4e5f-9b1a-2c3d4e5f6a01", "Tom Reid", "tom.reid@mash.example"),
    TeamsUser("4f1c2b8e-0a6d-4e5f-9b1a-2c3d4e5f6a02", "Dan Hughes", "dan.hughes@mash.example"),
    TeamsUser("4f1c2b8e-0a6d-4e5f-9b1a-2c3d4e5f6a03", "Ola Bello", "ola.bello@mash.example"),
]
TEAMS_TITLES = {
    "Tom Reid": "Social worker, MASH",
    "Dan Hughes": "MASH team manager",
    "Ola Bello": "Service manager, MASH",
}
# The sandbox's Teams app registration and tenant (the stand-in's; nothing leaves the machine).
TEAMS_APP_ID = "5a0e1c9d-3b7f-4c2a-8e6d-9f1b2a3c4d5e"
TEAMS_TENANT_ID = "7b2d4f6a-8c0e-4a1b-9d3f-5e7a9c1b3d5f"

# Someone outside Slack and Teams, to name in the form's name-and-e-mail fields: the bot e-mails them, and the
# page's e-mail inbox shows what arrived. nhs.net is a secure mail domain, so their e-mails carry the case's details.
EMAIL_ONLY = [("Dr Gita Rao", "gita.rao@nhs.net", "GP at a Croydon surgery, not in Slack or Teams")]
